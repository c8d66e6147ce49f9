"""Rules shared by spec validation and interactive prompts: each returns an error message or None."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from .catalog import Catalog

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
SAGEMAKER_NAME_MAX = 63


def suggest(value: str, choices: Iterable[str], limit: int = 3) -> str:
    """``; did you mean 'x'?`` for the closest choices, or an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=limit, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def project_name_error(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if len(name) > SAGEMAKER_NAME_MAX:
        return f"is {len(name)} characters; SageMaker names allow at most {SAGEMAKER_NAME_MAX}"
    if not SAGEMAKER_NAME.match(name):
        return (
            "must match SageMaker's name rule ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$: letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )
    return None


def choice_error(value: str, choices: Iterable[str], what: str, listing: str | None = None) -> str | None:
    """Membership check with a suggestion; ``listing`` replaces the full list when it is long."""
    options = sorted(choices)
    if value in options:
        return None
    allowed = listing or ("allowed: " + ", ".join(options))
    return f"is not a {what}{suggest(value, options)} ({allowed})"


def region_error(region: str, catalog: Catalog) -> str | None:
    return choice_error(region, catalog.regions, "SageMaker region", "run `mcc catalog regions` for the list")


def instance_type_error(instance_type: str, catalog: Catalog) -> str | None:
    return choice_error(
        instance_type,
        catalog.instance_types,
        "SageMaker instance type in the catalog",
        "run `mcc catalog instances` for the list",
    )
