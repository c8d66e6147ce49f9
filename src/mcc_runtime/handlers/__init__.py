"""Framework handlers: one small module per framework, each exposing the same functions.

``load(path: Path, model_format: str) -> model``
    Load the model artifact (a file or a directory) found in the model directory.
``predict(model, data: numpy.ndarray) -> numpy.ndarray``
    Predict for a 2-D batch of rows: labels for classifiers, values for regressors, the network's
    output for neural networks. Input the model cannot take raises :class:`mcc_runtime.errors.BadRequest`.
``has_proba(model) -> bool`` and ``predict_proba(model, data) -> numpy.ndarray``
    Class probabilities, one row per input row, where the model gives them.
``feature_count(model) -> int | None``
    How many features a row must have, where the model records it.
``input_schema(model) -> InputSchema | None`` (optional)
    The columns the model records (names, order, kinds, categories, where missing values are allowed).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import numpy as np

from ..errors import BadRequest
from ..schema import InputSchema


def load_handler(name: str) -> ModuleType:
    """Import ``mcc_runtime.handlers.<name>``."""
    if not name.isidentifier():
        raise ValueError(f"invalid handler name {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise ValueError(f"no handler named {name!r} in mcc_runtime.handlers") from None
        raise


def model_schema(handler: ModuleType, model: object) -> InputSchema | None:
    """The handler's reading of the model's columns, else just its width, else None."""
    reader = getattr(handler, "input_schema", None)
    if reader is not None:
        return reader(model)
    width = handler.feature_count(model)
    return InputSchema(width=int(width)) if width else None


def class_labels(model: object) -> list | None:
    """The classes a classifier's probability columns belong to, in order, where it records them (scikit-learn's
    ``classes_``: pipelines, XGBoost's and LightGBM's scikit-learn models too)."""
    try:
        classes = np.asarray(getattr(model, "classes_", None))
    except Exception:  # a property that raises on an unfitted or wrapped model
        return None
    return classes.tolist() if classes.ndim == 1 and classes.size else None


def check_width(data: np.ndarray, expected: int | None) -> None:
    """400 when the rows do not have the feature count the model was trained on."""
    if expected is not None and expected > 0 and data.shape[1] != expected:
        raise BadRequest(f"expected {expected} features per row, got {data.shape[1]}")


def labels_from_proba(proba: np.ndarray) -> np.ndarray:
    """Class index per row: argmax, or probability > 0.5 for a single (positive-class) column."""
    proba = np.asarray(proba)
    if proba.ndim == 1 or proba.shape[1] == 1:
        return (proba.reshape(-1) > 0.5).astype(np.int64)
    return proba.argmax(axis=1)


def two_class(positive: np.ndarray) -> np.ndarray:
    """P(positive) per row -> [P(negative), P(positive)] per row, as predict_proba gives it."""
    positive = np.asarray(positive, dtype=np.float64).reshape(-1)
    return np.column_stack([1.0 - positive, positive])


def as_class_probabilities(output: np.ndarray) -> np.ndarray:
    """A model's probability output as one row of class probabilities per input row: a single column
    (or 1-D) of P(positive) becomes two columns; several columns stay as they are."""
    output = np.asarray(output)
    return two_class(output) if output.ndim == 1 or output.shape[1] == 1 else output


def squeeze(output: np.ndarray) -> np.ndarray:
    """A single-output network's (n, 1) answer as n values; multi-output rows stay lists."""
    output = np.asarray(output)
    return output.reshape(-1) if output.ndim == 2 and output.shape[1] == 1 else output


def threads() -> int:
    """Threads one worker's framework may use (OMP_NUM_THREADS, set to 1 per worker by code/serve)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def per_row_probabilities(output: object) -> np.ndarray:
    """predict_proba's answer with one entry per input row. Multi-output and multilabel classifiers
    (``MultiOutputClassifier``, multi-output forests) give a list with one array per output; per row that is
    one entry per output, each its class probabilities: shape (rows, outputs, classes), or, where the outputs
    have different class counts, (rows, outputs) of arrays."""
    if not isinstance(output, list):
        return np.asarray(output)
    arrays = [np.asarray(per_output) for per_output in output]
    if len({a.shape for a in arrays}) == 1:
        return np.stack(arrays, axis=1)
    rows = np.empty((len(arrays[0]), len(arrays)), dtype=object)
    for column, values in enumerate(arrays):
        for row, value in enumerate(values):
            rows[row, column] = value
    return rows
