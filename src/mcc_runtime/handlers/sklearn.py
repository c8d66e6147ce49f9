"""scikit-learn: estimators and pipelines saved with joblib.dump or pickle.dump."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from ..errors import BadRequest
from . import check_width, per_row_probabilities
from .sklearn_columns import input_schema

__all__ = ["feature_count", "has_proba", "input_schema", "load", "predict", "predict_proba", "row_independent"]
# Numeric rows reach a model fitted on a DataFrame as an array already in its column order (checked by the schema).
warnings.filterwarnings("ignore", message="X does not have valid feature names")


def load(path: Path, model_format: str = "joblib") -> Any:
    """joblib.load reads both joblib and plain pickle files."""
    model = joblib.load(path)
    if not hasattr(model, "predict"):
        raise TypeError(f"{path} holds a {type(model).__name__}, which has no predict()")
    return model


def predict(model: Any, data: np.ndarray) -> np.ndarray:
    return _call(model.predict, model, data)


def has_proba(model: Any) -> bool:
    return hasattr(model, "predict_proba")


def predict_proba(model: Any, data: np.ndarray) -> np.ndarray:
    """One entry per row, for multi-output classifiers too (see ``per_row_probabilities``)."""
    return per_row_probabilities(_call(model.predict_proba, model, data))


def row_independent(model: Any) -> bool:
    """Each row is predicted on its own: rows of several requests may share one call."""
    return True


def feature_count(model: Any) -> int | None:
    return getattr(model, "n_features_in_", None)


def _call(method, model: Any, data: np.ndarray) -> np.ndarray:
    check_width(data, feature_count(model))
    try:
        if _all_finite(data):
            # Checked once here: skip the same check in every step of a pipeline (about 15% of a 1-row predict).
            # Rows with NaN or infinity take the normal path, so each estimator accepts or refuses them as usual.
            with sklearn.config_context(assume_finite=True):
                return method(data)
        return method(data)
    except ValueError as exc:
        raise BadRequest(f"the model rejected the input: {exc}") from None
    except TypeError as exc:
        if getattr(data, "format", None) != "csr":
            raise
        raise BadRequest(f"this model does not take sparse input; send dense rows ({exc})") from None


def _all_finite(data: Any) -> bool:
    return isinstance(data, np.ndarray) and data.dtype.kind in "fiub" and bool(np.isfinite(data).all())
