"""LightGBM: Booster models saved in LightGBM's text format, and pickled LGBMClassifier/LGBMRegressor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from ..errors import BadRequest
from ..schema import Column, InputSchema
from . import as_class_probabilities, check_width, labels_from_proba
from . import sklearn as estimator

PROBA_OBJECTIVES = ("binary", "multiclass", "multiclassova", "cross_entropy")
HEADER_LINES = 64  # the objective is written near the top of the text format
UNNAMED = re.compile(r"Column_\d+")  # the names LightGBM gives the columns of an array


@dataclass(frozen=True)
class BoosterModel:
    booster: lightgbm.Booster
    objective: str


def load(path: Path, model_format: str = "txt") -> Any:
    if model_format != "txt":
        return estimator.load(path, model_format)
    return BoosterModel(lightgbm.Booster(model_file=str(path)), _objective(path))


def predict(model: Any, data: np.ndarray) -> np.ndarray:
    if not isinstance(model, BoosterModel):
        return estimator.predict(model, data)
    output = _raw(model, data)
    return labels_from_proba(output) if model.objective in PROBA_OBJECTIVES else output


def has_proba(model: Any) -> bool:
    if isinstance(model, BoosterModel):
        return model.objective in PROBA_OBJECTIVES
    return estimator.has_proba(model)


def predict_proba(model: Any, data: np.ndarray) -> np.ndarray:
    if not isinstance(model, BoosterModel):
        return estimator.predict_proba(model, data)
    output = _raw(model, data)
    return as_class_probabilities(output)


def row_independent(model: Any) -> bool:
    """Each row is predicted on its own: rows of several requests may share one call."""
    return True


def feature_count(model: Any) -> int | None:
    return model.booster.num_feature() if isinstance(model, BoosterModel) else estimator.feature_count(model)


def input_schema(model: Any) -> InputSchema | None:
    """Names, and the categories of ``pandas`` category columns (``pandas_categorical``), from the Booster."""
    booster = model.booster if isinstance(model, BoosterModel) else getattr(model, "booster_", None)
    if booster is None:
        return estimator.input_schema(model)
    names = booster.feature_name()
    if all(UNNAMED.fullmatch(name) for name in names):
        return InputSchema(width=len(names))
    categorical = [i for i, info in enumerate(_feature_infos(booster)) if not info.startswith(("[", "none"))]
    known = dict(zip(categorical, booster.pandas_categorical or (), strict=False))
    columns = tuple(
        Column(name, "category", tuple(known[i])) if i in known else Column(name) for i, name in enumerate(names)
    )
    return InputSchema(columns, frame=bool(known), source="model")


def _feature_infos(booster: lightgbm.Booster) -> list[str]:
    """``feature_infos=[0:9] -1:1:0:2 none``: a range for numbers, the category values for categorical features."""
    for line in booster.model_to_string(num_iteration=0).splitlines():
        if line.startswith("feature_infos="):
            return line.removeprefix("feature_infos=").split(" ")
    return []


def _raw(model: BoosterModel, data: np.ndarray) -> np.ndarray:
    check_width(data, feature_count(model))
    try:
        return np.asarray(model.booster.predict(data, num_threads=1))
    except (ValueError, lightgbm.basic.LightGBMError) as exc:
        raise BadRequest(f"the model rejected the input: {exc}") from None


def _objective(path: Path) -> str:
    """``objective=multiclass num_class:3`` -> ``multiclass``."""
    with path.open(encoding="utf-8", errors="replace") as text:
        for _, line in zip(range(HEADER_LINES), text, strict=False):
            if line.startswith("objective="):
                return line.removeprefix("objective=").split()[0]
    return ""
