"""``--optimize onnx``: convert a scikit-learn, XGBoost or LightGBM model to ONNX at generation, and prove it.

The model is loaded with the runtime's own handler, converted (skl2onnx for scikit-learn, onnxmltools for the
boosters), loaded back with the runtime's ONNX handler (the onnxruntime the image pins), and both answer the
same rows: the sample payload's and rows generated around them. Labels must be equal and probabilities (or a
regressor's values) within :data:`TOLERANCE`; otherwise nothing is generated and the error names the rows.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import FieldError, InvalidAnswers

if TYPE_CHECKING:  # numpy is imported by the conversion only: the CLI's start stays light
    import numpy as np

    from mcc_runtime.schema import InputSchema

FRAMEWORKS = ("sklearn", "xgboost", "lightgbm")
# What the conversion imports in mcc's own process: the model's library, the converter, ONNX and its runtime.
CONVERSION_MODULES = {
    "sklearn": ("numpy", "sklearn", "skl2onnx", "onnx", "onnxruntime"),
    "xgboost": ("numpy", "xgboost", "onnxmltools", "onnx", "onnxruntime"),
    "lightgbm": ("numpy", "lightgbm", "onnxmltools", "onnx", "onnxruntime"),
}
TOLERANCE = 1e-4  # ONNX computes in float32: probabilities (absolute) and values (relative) agree within this
GENERATED_ROWS = 256
ONNX_FILENAME = "model.onnx"
EXTRA = "pip install 'ml-container-creator[onnx]'"


def missing_modules(framework: str) -> list[str]:
    """The modules the conversion of a ``framework`` model needs that are not installed beside mcc."""
    return [name for name in CONVERSION_MODULES.get(framework, ()) if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class Export:
    path: Path  # the converted model
    source: str  # what it was converted from, for the README
    rows_checked: int
    largest_difference: float  # of probabilities or values, between the original and the ONNX model


class ExportError(InvalidAnswers):
    def __init__(self, message: str, value: str = "onnx") -> None:
        super().__init__([FieldError("optimize", message, value, "--optimize")])


def export(
    framework: str, handler_name: str, model_format: str, model_file: Path, rows: np.ndarray | None, directory: Path
) -> Export:
    """``model_file`` as ``directory/model.onnx``, checked against the original on ``rows`` and generated ones."""
    if framework not in FRAMEWORKS:
        raise ExportError(f"converts {', '.join(FRAMEWORKS)} models; this is a {framework} model", framework)
    from mcc_runtime.handlers import load_handler, model_schema
    from mcc_runtime.handlers import onnx as onnx_handler

    handler = load_handler(handler_name)
    model = handler.load(model_file, model_format)
    width = _width(model_schema(handler, model))
    converted = directory / ONNX_FILENAME
    converted.write_bytes(_any_rows(_convert(framework, model, width)))
    served = onnx_handler.load(converted)
    checked = check_rows(rows, width)
    difference = _compare(handler, model, onnx_handler, served, checked)
    return Export(converted, model_file.name, len(checked), difference)


def _width(schema: InputSchema | None) -> int:
    columns = schema.columns if schema else ()
    kinds = {column.kind for column in columns}
    if kinds - {"number"}:
        raise ExportError(
            f"the model takes {', '.join(sorted(kinds))} columns; ONNX conversion takes models whose input is "
            "one array of numbers (convert it yourself and pass the .onnx file, or serve it as it is)"
        )
    width = (schema.width or len(columns)) if schema else 0
    if not width:
        raise ExportError("the model does not record how many features it takes, which the ONNX graph needs")
    return width


def check_rows(rows: np.ndarray | None, width: int, seed: int = 0) -> np.ndarray:
    """The sample rows and :data:`GENERATED_ROWS` around them (each value moved by up to about 20%, some by
    several standard deviations of its column); without sample rows, standard normal ones."""
    import numpy as np

    generator = np.random.default_rng(seed)
    if rows is None or not len(rows):
        return generator.normal(size=(GENERATED_ROWS, width))
    rows = np.asarray(rows, dtype=np.float64)
    picked = rows[generator.integers(0, len(rows), GENERATED_ROWS)]
    spread = np.where(rows.std(axis=0) > 0, rows.std(axis=0), np.abs(rows).mean(axis=0) + 1.0)
    moved = picked * (1 + 0.2 * generator.uniform(-1, 1, picked.shape))
    moved += generator.normal(size=picked.shape) * spread * generator.choice([0.0, 0.5, 3.0], size=picked.shape)
    return np.vstack([rows, moved])


def _convert(framework: str, model: Any, width: int) -> bytes:
    try:
        if framework == "sklearn":
            from skl2onnx import to_onnx
            from skl2onnx.common.data_types import FloatTensorType
        else:
            import onnxmltools
            from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        raise ExportError(f"needs the ONNX converters, which are not installed here: {EXTRA}") from None
    inputs = [("input", FloatTensorType([None, width]))]
    try:
        if framework == "sklearn":
            options = {"zipmap": False} if hasattr(model, "predict_proba") else None
            return to_onnx(model, initial_types=inputs, options=options).SerializeToString()
        if framework == "xgboost":
            return onnxmltools.convert_xgboost(_xgboost_estimator(model), initial_types=inputs).SerializeToString()
        booster = getattr(model, "booster", model)
        return onnxmltools.convert_lightgbm(booster, initial_types=inputs, zipmap=False).SerializeToString()
    except Exception as exc:  # the converters raise many kinds; each means "this model does not convert"
        problem = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        raise ExportError(f"the converter refused this {type(model).__name__} ({problem})") from None


def _any_rows(graph: bytes) -> bytes:
    """The graph with every output's first dimension symbolic: some converters declare 1 (one row), which makes
    onnxruntime log a warning on every call with more rows."""
    import onnx

    model = onnx.load_from_string(graph)
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_value"):
            dims[0].dim_param = "N"
    return model.SerializeToString()


def _xgboost_estimator(model: Any) -> Any:
    """onnxmltools converts XGBoost's scikit-learn estimators: a bare Booster is wrapped in the matching one."""
    booster = getattr(model, "booster", None)
    if booster is None:
        return model
    import xgboost

    objective = model.objective
    estimator = xgboost.XGBClassifier() if objective.startswith(("binary:", "multi:")) else xgboost.XGBRegressor()
    estimator._Booster = booster
    if isinstance(estimator, xgboost.XGBClassifier):
        classes = int(booster.attr("num_class") or 0) or _classes_from_config(booster)
        estimator.n_classes_ = classes
    estimator.objective = objective
    return estimator


def _classes_from_config(booster: Any) -> int:
    import json

    learner = json.loads(booster.save_config())["learner"]
    return max(2, int(learner["learner_model_param"].get("num_class", "0")))


def _compare(handler: Any, model: Any, onnx_handler: Any, served: Any, rows: np.ndarray) -> float:
    """The largest difference of probabilities, or relative one of values; refuses where a label differs or a
    difference is over :data:`TOLERANCE`."""
    import numpy as np

    expected, got = np.asarray(handler.predict(model, rows)), np.asarray(onnx_handler.predict(served, rows))
    if handler.has_proba(model):
        labels = onnx_handler.predict_label(served, rows)
        wrong = np.flatnonzero(np.asarray(labels).astype(str) != expected.astype(str))
        _refuse_rows(wrong, rows, "labels", expected, labels)
        want, have = handler.predict_proba(model, rows), onnx_handler.predict_proba(served, rows)
        scale = 1.0
    else:
        want, have = expected.astype(np.float64), got.astype(np.float64)
        scale = np.maximum(1.0, np.abs(want))  # values: relative to their size
    difference = np.abs(np.asarray(want, dtype=np.float64) - np.asarray(have, dtype=np.float64)) / scale
    difference = difference.reshape(len(rows), -1).max(axis=1)
    _refuse_rows(np.flatnonzero(difference > TOLERANCE), rows, "probabilities or values", want, have)
    return float(difference.max(initial=0.0))


def _refuse_rows(wrong: np.ndarray, rows: np.ndarray, what: str, want: Any, have: Any) -> None:
    import numpy as np

    if not len(wrong):
        return
    want, have = np.asarray(want), np.asarray(have)
    shown = "; ".join(
        f"row {int(i) + 1} {np.round(rows[i], 4).tolist()}: {want[i].tolist()} vs {have[i].tolist()}" for i in wrong[:3]
    )
    raise ExportError(
        f"the ONNX model's {what} differ from the original's on {len(wrong)} of {len(rows)} rows checked "
        f"(tolerance {TOLERANCE:g}); e.g. {shown}. Serve the original model (no --optimize)"
    )
