"""Sample models trained on data sets that ship inside the framework (no download), with payloads.

The catalog names a trainer per framework; each trainer returns the serialized model and a few rows of
its data set as the project's sample request.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass

PAYLOAD_ROWS = (0, 60, 130)  # one row of each wine class


@dataclass(frozen=True)
class Sample:
    model_bytes: bytes
    rows: list[list[float]]

    @property
    def payload_csv(self) -> bytes:
        return "".join(",".join(repr(v) for v in row) + "\n" for row in self.rows).encode()

    @property
    def payload_json(self) -> bytes:
        return (json.dumps({"instances": self.rows}) + "\n").encode()


def wine_classifier(model_format: str) -> Sample:
    """StandardScaler + LogisticRegression on scikit-learn's bundled wine data (13 features)."""
    import joblib
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(features, target)
    buffer = io.BytesIO()
    if model_format == "pkl":
        pickle.dump(model, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        joblib.dump(model, buffer)
    return Sample(buffer.getvalue(), [features[i].tolist() for i in PAYLOAD_ROWS])


TRAINERS: dict[str, Callable[[str], Sample]] = {"wine_classifier": wine_classifier}


def train(trainer: str, model_format: str) -> Sample:
    return TRAINERS[trainer](model_format)
