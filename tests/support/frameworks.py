"""Fixture models for every catalog framework and format, and their in-process ("reference") predictions.

The models are trained with mcc's own sample trainers; the reference predictions are computed here with
each framework's own API, independently of the runtime's handlers, so a handler bug shows as a mismatch.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcc import samples


@dataclass(frozen=True)
class Case:
    framework: str
    model_format: str
    filename: str
    predict_output: str = "label"
    network: bool = False  # float outputs compared within 1e-5; trees and estimators exactly

    @property
    def id(self) -> str:
        return f"{self.framework}-{self.model_format}-{self.predict_output}"

    @property
    def trainer(self) -> str:
        return {"tensorflow": "wine_keras", "pytorch": "wine_pytorch"}.get(self.framework, f"wine_{self.framework}")


CASES = (
    Case("xgboost", "json", "model.json", "both"),
    Case("xgboost", "ubj", "model.ubj"),
    Case("xgboost", "pkl", "model.pkl", "proba"),
    Case("lightgbm", "txt", "model.txt", "both"),
    Case("lightgbm", "joblib", "model.joblib"),
    Case("tensorflow", "keras", "model.keras", "both", network=True),
    Case("tensorflow", "savedmodel", "savedmodel", network=True),
    Case("pytorch", "torchscript", "model.pt", network=True),
    Case("pytorch", "exported", "model.pt2", "both", network=True),
    Case("onnx", "onnx", "model.onnx", "both"),
)


def train(case: Case, directory: Path) -> Path:
    path = directory / case.filename
    samples.save(case.trainer, case.model_format, path)
    return path


def raw_output(case: Case, path: Path, rows: np.ndarray) -> np.ndarray:
    """The framework's own prediction for ``rows``: probabilities for classifiers that give them."""
    if case.framework == "xgboost" and case.model_format in ("json", "ubj"):
        import xgboost

        return xgboost.Booster(model_file=str(path)).predict(xgboost.DMatrix(rows))
    if case.framework == "lightgbm" and case.model_format == "txt":
        import lightgbm

        return lightgbm.Booster(model_file=str(path)).predict(rows)
    if case.model_format in ("pkl", "joblib"):
        import joblib

        model = pickle.loads(path.read_bytes()) if case.model_format == "pkl" else joblib.load(path)
        return model.predict_proba(rows)
    if case.model_format == "keras":
        import keras

        return keras.models.load_model(path).predict(rows.astype(np.float32), verbose=0)
    if case.model_format == "savedmodel":
        import tensorflow as tf

        function = tf.saved_model.load(str(path)).signatures["serving_default"]
        (name,) = function.structured_input_signature[1]
        (output,) = function(**{name: tf.constant(rows, dtype=tf.float32)}).values()
        return output.numpy()
    if case.framework == "pytorch":
        import torch

        model = torch.export.load(str(path)).module() if case.model_format == "exported" else torch.jit.load(str(path))
        with torch.no_grad():
            return model(torch.tensor(rows, dtype=torch.float32)).numpy()
    if case.framework == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (name,) = [i.name for i in session.get_inputs()]
        return session.run(None, {name: rows.astype(np.float32)})[1]  # outputs: label, probabilities
    raise ValueError(f"no reference for {case.id}")


def expected_answer(case: Case, path: Path, rows: np.ndarray) -> dict[str, np.ndarray]:
    """What /invocations must answer for ``rows``, as named columns."""
    output = raw_output(case, path, rows)
    labels = output.argmax(axis=1)
    if case.predict_output == "proba":
        return {"probabilities": output}
    if case.predict_output == "both":
        return {"predictions": labels, "probabilities": output}
    return {"predictions": output if case.network else labels}


def assert_matches(case: Case, answer: dict, expected: dict[str, np.ndarray]) -> None:
    answer = without_classes(answer, expected)
    assert set(answer) == set(expected), answer
    for name, values in expected.items():
        got = np.asarray(answer[name])
        assert got.shape == values.shape, (name, got.shape, values.shape)
        if case.network and values.dtype.kind == "f":
            np.testing.assert_allclose(got, values, rtol=1e-5, atol=1e-6)
        else:  # exact: float32 answers are written as their shortest float32 repr
            np.testing.assert_array_equal(got.astype(values.dtype), values)


def without_classes(answer: dict, expected: dict) -> dict:
    """A JSON answer's columns; its ``classes`` (beside probabilities) checked to be the column indices these
    models, trained on labels 0..k-1, give."""
    if "classes" not in answer:
        return answer
    assert answer["classes"] == list(range(np.shape(expected["probabilities"])[-1])), answer["classes"]
    return {k: v for k, v in answer.items() if k != "classes"}


def jsonlines_answer(body: bytes) -> dict[str, list]:
    """JSON Lines answers as columns: bare values per line, or {"prediction", "probabilities"} objects."""
    records = [json.loads(line) for line in body.splitlines() if line.strip()]
    if records and isinstance(records[0], dict):
        return {("predictions" if k == "prediction" else k): [r[k] for r in records] for k in records[0]}
    return {"predictions": records}
