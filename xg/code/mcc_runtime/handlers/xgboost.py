"""XGBoost: Booster models saved as JSON or UBJSON or pickled (SageMaker's built-in algorithm writes
``xgboost-model`` either way), and pickled XGBClassifier/XGBRegressor estimators."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import xgboost

from ..errors import BadRequest
from ..schema import Column, InputSchema
from . import as_class_probabilities, check_width, labels_from_proba
from . import sklearn as estimator

NATIVE_FORMATS = ("json", "ubj")
BUILTIN_FORMAT = "builtin"  # SageMaker's XGBoost algorithm's xgboost-model: pickled or saved, no extension
PICKLE_START = b"\x80"
PROBA_OBJECTIVES = ("binary:logistic", "multi:softprob")
KINDS = {"c": "category", "i": "boolean"}  # XGBoost's feature types; the others ("q", "int", "float") are numbers
LABEL_OBJECTIVES = ("binary:hinge", "multi:softmax")


@dataclass(frozen=True)
class BoosterModel:
    booster: xgboost.Booster
    objective: str


def load(path: Path, model_format: str = "json") -> Any:
    """A Booster (saved, or pickled as SageMaker's XGBoost algorithm does), or a scikit-learn API estimator."""
    if model_format in NATIVE_FORMATS:
        return _booster_model(xgboost.Booster(model_file=str(path)))
    if model_format == BUILTIN_FORMAT and path.read_bytes()[:1] != PICKLE_START:
        return _booster_model(xgboost.Booster(model_file=str(path)))  # save_model output without an extension
    model = joblib.load(path)
    if isinstance(model, xgboost.Booster):
        return _booster_model(model)
    if not hasattr(model, "predict"):
        raise TypeError(f"{path} holds a {type(model).__name__}, which has no predict()")
    return model


def _booster_model(booster: xgboost.Booster) -> BoosterModel:
    """The objective (from the model's own configuration) decides labels and probabilities."""
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


def row_independent(model: Any) -> bool:
    """Each row is predicted on its own: rows of several requests may share one call."""
    return True


def feature_count(model: Any) -> int | None:
    return model.booster.num_features() if isinstance(model, BoosterModel) else estimator.feature_count(model)


def input_schema(model: Any) -> InputSchema | None:
    """Names, types and (XGBoost 3.1+) the categories the Booster saved from its training DataFrame."""
    booster = model.booster if isinstance(model, BoosterModel) else getattr(model, "get_booster", lambda: None)()
    if booster is None:
        return estimator.input_schema(model)
    if not booster.feature_names:
        return InputSchema(width=booster.num_features())
    categories = _categories(json.loads(booster.save_raw("json")))
    types = booster.feature_types or ["float"] * len(booster.feature_names)
    columns = []
    for index, (name, kind) in enumerate(zip(booster.feature_names, types, strict=True)):
        known = categories[index] if index < len(categories) else ()
        kind = KINDS.get(kind, "number")
        columns.append(Column(name, "number" if kind == "category" and not known else kind, known))
    return InputSchema(tuple(columns), frame=any(c.kind != "number" for c in columns), source="model")


def _categories(document: dict) -> list[tuple[Any, ...]]:
    """Per feature, the categories saved in the model (strings as offsets into UTF-8 bytes, or numbers)."""
    model = document.get("learner", {}).get("gradient_booster", {}).get("model", {})
    found = []
    for entry in model.get("cats", {}).get("enc", []):
        offsets, values = entry.get("offsets"), entry.get("values", [])
        if offsets:
            raw = bytes(values)
            found.append(tuple(raw[a:b].decode() for a, b in itertools.pairwise(offsets)))
        else:
            found.append(tuple(values))
    return found


def _raw(model: BoosterModel, data: np.ndarray) -> np.ndarray:
    check_width(data, feature_count(model))
    try:
        return model.booster.inplace_predict(data)
    except (ValueError, xgboost.core.XGBoostError) as exc:
        raise BadRequest(f"the model rejected the input: {exc}") from None
