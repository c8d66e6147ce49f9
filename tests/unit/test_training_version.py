"""The library versions a model file records, read from its bytes (mcc/training_version.py), and what the image
pins from them (mcc/pinning.py)."""

from __future__ import annotations

import json
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import sklearn
import xgboost as xgb

from mcc.pinning import pinning, recorded
from mcc.training_version import Recorded, recorded_versions


@pytest.fixture(scope="module")
def booster():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    return xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(features, label=features[:, 0] > 0), 2)


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("xz", 3), ("bz2", 3)])
def test_a_joblib_file_records_the_scikit_learn_release_that_saved_it(wine_model, tmp_path, compress):
    path = tmp_path / "model.joblib"
    joblib.dump(wine_model, path, compress=compress)
    found = recorded_versions(path, "pickle")
    assert found.versions == {"scikit-learn": sklearn.__version__}
    assert "_sklearn_version" in found.evidence


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol_records_it(wine_model, tmp_path, protocol):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(wine_model, protocol=protocol))
    assert recorded_versions(path, "pickle").versions == {"scikit-learn": sklearn.__version__}


def test_another_release_is_read_as_written(wine_model, tmp_path):
    """The bytes a model saved by scikit-learn 1.3.2 holds (the same pickle, its version string replaced)."""
    data = pickle.dumps(wine_model, protocol=4).replace(b"\x8c\x05" + sklearn.__version__.encode(), b"\x8c\x051.3.2")
    path = tmp_path / "old.pkl"
    path.write_bytes(data)
    assert recorded_versions(path, "pickle").versions == {"scikit-learn": "1.3.2"}


@pytest.mark.parametrize("name", ["model.json", "model.ubj"])
def test_xgboost_save_model_records_its_release(booster, tmp_path, name):
    path = tmp_path / name
    booster.save_model(path)
    check = "xgboost_json" if name.endswith(".json") else "ubjson"
    assert recorded_versions(path, check).versions == {"xgboost": xgb.__version__}


def test_a_pickled_booster_and_estimator_carry_their_xgboost_release(booster, tmp_path):
    pickled = tmp_path / "xgboost-model"
    pickled.write_bytes(pickle.dumps(booster))
    assert recorded_versions(pickled, "xgboost_builtin").versions == {"xgboost": xgb.__version__}
    estimator = xgb.XGBClassifier(n_estimators=2).fit(np.eye(4), [0, 1, 0, 1])
    joblib.dump(estimator, tmp_path / "model.joblib")
    assert recorded_versions(tmp_path / "model.joblib", "pickle").versions == {"xgboost": xgb.__version__}


def test_an_older_xgboost_json_model_records_its_release(booster, tmp_path):
    document = json.loads(booster.save_raw("json"))
    document["version"] = [1, 7, 6]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    assert recorded_versions(path, "xgboost_json").versions == {"xgboost": "1.7.6"}


def test_a_keras_file_records_the_keras_release(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.4.1", "date_saved": "2024-07-01"}))
    assert recorded_versions(path, "keras") == Recorded({"keras": "3.4.1"}, "metadata.json's keras_version")


@pytest.mark.parametrize("check", ["pickle", "xgboost_json", "ubjson", "keras", "lightgbm_text", None])
def test_damaged_or_silent_files_record_nothing(tmp_path, check):
    path = tmp_path / "model"
    path.write_bytes(b"\x80\x04garbage{[")
    assert recorded_versions(path, check) is None


def test_the_catalog_release_with_its_own_scikit_learn_is_tested(catalog):
    sklearn_fw, xgboost_fw = catalog.frameworks["sklearn"], catalog.frameworks["xgboost"]
    assert pinning(sklearn_fw, "1.9.1", Recorded({"scikit-learn": "1.9.1"}, "")).tested
    assert pinning(sklearn_fw, "1.3.2", Recorded({"scikit-learn": "1.3.2"}, "")).resolved
    # an XGBoost pipeline saved with another scikit-learn keeps that scikit-learn, so it is resolved
    mixed = pinning(xgboost_fw, "3.2.0", Recorded({"xgboost": "3.2.0", "scikit-learn": "1.6.1"}, ""))
    assert mixed.resolved and mixed.pins == ("scikit-learn==1.6.1",)


def test_releases_below_a_boundary_get_its_constraints_and_package(catalog):
    xgboost_fw, sklearn_fw = catalog.frameworks["xgboost"], catalog.frameworks["sklearn"]
    assert xgboost_fw.release_requirements("2.0.3") == ("xgboost==2.0.3", "numpy<2")
    assert xgboost_fw.release_requirements("2.1.4") == ("xgboost-cpu==2.1.4",)
    assert sklearn_fw.release_requirements("1.3.2") == ("scikit-learn==1.3.2", "numpy<2")
    assert sklearn_fw.release_requirements("1.6.1") == ("scikit-learn==1.6.1",)


def test_an_exported_program_records_the_torch_release_and_pins_the_tested_one(catalog, tmp_path):
    import torch

    model = torch.nn.Linear(3, 2)
    torch.export.save(torch.export.export(model, (torch.randn(1, 3),)), tmp_path / "model.pt2")
    found = recorded(catalog.frameworks["pytorch"], "exported", tmp_path / "model.pt2")
    assert found.versions == {"torch": torch.__version__.split("+")[0]}
    assert pinning(catalog.frameworks["pytorch"], found.versions["torch"], found).tested
    torch.jit.save(torch.jit.script(model), tmp_path / "model.pt")  # TorchScript records no release
    assert recorded(catalog.frameworks["pytorch"], "torchscript", tmp_path / "model.pt") is None
