"""XGBoost: Booster models saved as JSON or UBJSON, and pickled XGBClassifier/XGBRegressor estimators."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost

from ..errors import BadRequest
from . import as_class_probabilities, check_width, labels_from_proba
from . import sklearn as estimator

NATIVE_FORMATS = ("json", "ubj")
PROBA_OBJECTIVES = ("binary:logistic", "multi:softprob")
LABEL_OBJECTIVES = ("binary:hinge", "multi:softmax")


@dataclass(frozen=True)
class BoosterModel:
    booster: xgboost.Booster
    objective: str


def load(path: Path, model_format: str = "json") -> Any:
    if model_format not in NATIVE_FORMATS:
        return estimator.load(path, model_format)
    booster = xgboost.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    return BoosterModel(booster, objective)


def predict(model: Any, data: np.ndarray) -> np.ndarray:
    if not isinstance(model, BoosterModel):
        return estimator.predict(model, data)
    output = _raw(model, data)
    if model.objective in PROBA_OBJECTIVES:
        return labels_from_proba(output)
    if model.objective in LABEL_OBJECTIVES:
        return output.astype(np.int64)
    return output


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
    return model.booster.num_features() if isinstance(model, BoosterModel) else estimator.feature_count(model)


def _raw(model: BoosterModel, data: np.ndarray) -> np.ndarray:
    check_width(data, feature_count(model))
    try:
        return model.booster.inplace_predict(data)
    except (ValueError, xgboost.core.XGBoostError) as exc:
        raise BadRequest(f"the model rejected the input: {exc}") from None
