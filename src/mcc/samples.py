"""Sample models trained on data sets that ship inside scikit-learn (no download), with payloads.

The catalog names a trainer per framework. Each trainer fits a small classifier on the wine data set
(13 features, 3 classes), saves it in the requested format under a directory and returns the rows of the
sample request. Frameworks are imported inside each trainer: only the chosen one needs to be installed.
"""

from __future__ import annotations

import io
import json
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAYLOAD_ROWS = (0, 60, 130)  # one row of each wine class
SEED = 7


@dataclass(frozen=True)
class Sample:
    files: dict[str, bytes]  # path relative to the project's model/ directory -> content
    rows: list[list[float]]

    @property
    def payload_csv(self) -> bytes:
        return "".join(",".join(repr(v) for v in row) + "\n" for row in self.rows).encode()

    @property
    def payload_json(self) -> bytes:
        return (json.dumps({"instances": self.rows}) + "\n").encode()


def wine_data() -> tuple[Any, Any]:
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True)


def wine_sklearn(model_format: str, path: Path) -> None:
    """StandardScaler + LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = wine_data()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(features, target)
    _dump(model, model_format, path)


def wine_xgboost(model_format: str, path: Path) -> None:
    """XGBClassifier (multi:softprob); the Booster for json/ubj, the estimator for pickles."""
    import xgboost

    features, target = wine_data()
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=SEED, n_jobs=1).fit(features, target)
    if model_format in ("json", "ubj"):
        model.get_booster().save_model(str(path))
    else:
        _dump(model, model_format, path)


def wine_lightgbm(model_format: str, path: Path) -> None:
    """LGBMClassifier (multiclass); the Booster as text for txt, the estimator for pickles."""
    import lightgbm

    features, target = wine_data()
    model = lightgbm.LGBMClassifier(n_estimators=20, random_state=SEED, n_jobs=1, verbose=-1).fit(features, target)
    if model_format == "txt":
        model.booster_.save_model(str(path))
    else:
        _dump(model, model_format, path)


def wine_keras(model_format: str, path: Path) -> None:
    """Normalization + Dense(16, relu) + Dense(3, softmax); .keras file or SavedModel export."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(SEED)
    features, target = wine_data()
    features = features.astype(np.float32)
    normalize = keras.layers.Normalization()
    normalize.adapt(features)
    model = keras.Sequential(
        [
            keras.Input(shape=(features.shape[1],)),
            normalize,
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(features, target, epochs=30, batch_size=32, verbose=0)
    if model_format == "savedmodel":
        model.export(str(path), verbose=False)
    else:
        model.save(path)


def wine_pytorch(model_format: str, path: Path) -> None:
    """Standardization + Linear(13, 16) + ReLU + Linear(16, 3) + Softmax; TorchScript or ExportedProgram."""
    import torch

    torch.manual_seed(SEED)
    features, target = wine_data()
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(target, dtype=torch.long)
    network = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    mean, std = x.mean(0), x.std(0)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(network((x - mean) / std), y).backward()
        optimizer.step()
    model = _classifier_class()(network, mean, std).eval()
    if model_format == "exported":
        batch = torch.export.Dim("batch", min=1, max=1_000_000)
        program = torch.export.export(model, (x[:4],), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
    else:
        torch.jit.save(torch.jit.script(model), str(path))


def _classifier_class() -> type:
    """A torch.nn.Module class (defined on first use, so torch is imported only for this trainer)."""
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self, network: torch.nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
            super().__init__()
            self.network = network
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.network((x - self.mean) / self.std), dim=1)

    return Classifier


def wine_onnx(model_format: str, path: Path) -> None:
    """The scikit-learn wine pipeline converted with skl2onnx (outputs: label, probabilities)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = wine_data()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(features, target)
    onnx_model = to_onnx(model, features[:1].astype("float32"), options={"zipmap": False})
    path.write_bytes(onnx_model.SerializeToString())


def _dump(model: Any, model_format: str, path: Path) -> None:
    if model_format in ("pkl", "pickle"):
        path.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    else:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        path.write_bytes(buffer.getvalue())


TRAINERS: dict[str, Callable[[str, Path], None]] = {
    "wine_sklearn": wine_sklearn,
    "wine_xgboost": wine_xgboost,
    "wine_lightgbm": wine_lightgbm,
    "wine_keras": wine_keras,
    "wine_pytorch": wine_pytorch,
    "wine_onnx": wine_onnx,
}


def save(trainer: str, model_format: str, path: Path) -> None:
    """Train the sample and save it at ``path`` (a file, or a directory for directory formats)."""
    TRAINERS[trainer](model_format, path)


def train(trainer: str, model_format: str, name: str) -> Sample:
    """Train the sample, saved as ``name`` (file or directory), with its payload rows."""
    with tempfile.TemporaryDirectory(prefix="mcc-sample-") as scratch:
        root = Path(scratch)
        save(trainer, model_format, root / name)
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    features, _ = wine_data()
    return Sample(files, [features[i].tolist() for i in PAYLOAD_ROWS])
