"""LightGBM: Booster models saved in LightGBM's text format, and pickled LGBMClassifier/LGBMRegressor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from ..errors import BadRequest
from . import as_class_probabilities, check_width, labels_from_proba
from . import sklearn as estimator

PROBA_OBJECTIVES = ("binary", "multiclass", "multiclassova", "cross_entropy")
HEADER_LINES = 64  # the objective is written near the top of the text format


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


def feature_count(model: Any) -> int | None:
    return model.booster.num_feature() if isinstance(model, BoosterModel) else estimator.feature_count(model)


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
