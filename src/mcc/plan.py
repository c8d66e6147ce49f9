"""Decide every file of the project from a valid spec: rendered templates, the verbatim runtime, generated data
files and the model. Nothing touches the target directory here. Each kind of project has its plan
(``predictive_plan``, ``generative_plan``) on the shared base ``plan_common``."""

from __future__ import annotations

from .catalog import Catalog
from .generative_plan import plan_generative
from .model_check import ModelReport
from .predictive_plan import plan_predictive
from .render import PlannedFile
from .sagemaker_archive import SageMakerArchive
from .spec import ProjectSpec
from .upgrade import base_record


def plan_project(
    spec: ProjectSpec,
    catalog: Catalog,
    archive: SageMakerArchive | None = None,
    report: ModelReport | None = None,
) -> list[PlannedFile]:
    """The kind's files, and their pristine copies under .mcc-base/ (what mcc upgrade merges against). ``report``:
    a predictive model's check (made here when not given)."""
    files = plan_generative(spec, catalog) if spec.generative else plan_predictive(spec, catalog, archive, report)
    return sorted([*files, *base_record(files)], key=lambda f: f.path)
