"""scikit-learn: estimators and pipelines saved with joblib.dump or pickle.dump."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np

from ..errors import BadRequest


def load(path: Path) -> Any:
    """joblib.load reads both joblib and plain pickle files."""
    model = joblib.load(path)
    if not hasattr(model, "predict"):
        raise TypeError(f"{path} holds a {type(model).__name__}, which has no predict()")
    return model


def predict(model: Any, data: np.ndarray) -> np.ndarray:
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and data.shape[1] != expected:
        raise BadRequest(f"expected {expected} features per row, got {data.shape[1]}")
    try:
        return model.predict(data)
    except ValueError as exc:
        raise BadRequest(f"the model rejected the input: {exc}") from None
