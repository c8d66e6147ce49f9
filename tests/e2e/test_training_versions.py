"""Models saved with releases the catalog does not pin (issue: any real model artifact): trained in a virtualenv
of that release, `mcc new` reads the release from the file, pins it with a closure pip resolves, and the project
serves exactly what the model predicts in its own release. A contradicting, unknown or unresolvable version is an
error that names the reason, and nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.projects import own_tests, readable_folder, stderr_text
from tests.support.projects import run_mcc_new as mcc_new
from tests.support.venvs import project_venv, training_venv

pytestmark = pytest.mark.slow

# A churn-like table as users have one: a numeric column with gaps, a text category, a float with gaps.
TABLE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "tenure": rng.integers(1, 72, 300).astype(float),
        "plan": rng.choice(["basic", "plus", "pro"], 300),
        "monthly": rng.normal(60, 15, 300).round(2),
    })
    frame.loc[::9, "tenure"] = np.nan
    frame.loc[::11, "monthly"] = np.nan
    target = frame["monthly"].fillna(60) * 0.5 + frame["tenure"].fillna(30) * 0.2 + (frame["plan"] == "pro") * 5
    rows = frame.head(25)
    rows.to_csv(sys.argv[2], index=False, na_rep="")
""")
SKLEARN_TRAINER = TABLE + textwrap.dedent("""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    columns = ColumnTransformer([("num", numbers, ["tenure", "monthly"]),
                                 ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    model = Pipeline([("prepare", columns), ("trees", HistGradientBoostingRegressor(max_iter=30))]).fit(frame, target)
    joblib.dump(model, sys.argv[1])
    json.dump(model.predict(rows).tolist(), open(sys.argv[3], "w"))
""")
XGBOOST_TRAINER = TABLE + textwrap.dedent("""
    import xgboost as xgb

    numeric = frame[["tenure", "monthly"]]
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 3}, xgb.DMatrix(numeric, label=target), 20)
    booster.save_model(sys.argv[1])
    rows[["tenure", "monthly"]].to_csv(sys.argv[2], index=False, na_rep="")
    json.dump(booster.predict(xgb.DMatrix(rows[["tenure", "monthly"]])).tolist(), open(sys.argv[3], "w"))
""")
RELEASES = {
    "scikit-learn 1.3.2": (("scikit-learn==1.3.2", "numpy<2", "pandas"), SKLEARN_TRAINER, "model.joblib", "1.3.2"),
    "scikit-learn 1.6.1": (("scikit-learn==1.6.1", "pandas"), SKLEARN_TRAINER, "model.joblib", "1.6.1"),
    "xgboost 2.1.4": (("xgboost-cpu==2.1.4", "pandas"), XGBOOST_TRAINER, "model.json", "2.1.4"),
}


@pytest.fixture(scope="module")
def workdir():
    with readable_folder("mcc-releases-") as parent:
        yield parent


def trained(workdir, release):
    """The model file, a CSV payload with a header and gaps, and the predictions in the training release."""
    requirements, trainer, filename, _ = RELEASES[release]
    folder = workdir / release.replace(" ", "-")
    if not (folder / "expected.json").exists():
        folder.mkdir()
        python = training_venv(*requirements)
        subprocess.run([python, "-c", trainer, str(folder / filename), str(folder / "rows.csv"),
                        str(folder / "expected.json")], check=True)  # fmt: skip
    return folder / filename, folder / "rows.csv", json.loads((folder / "expected.json").read_text())


@pytest.mark.parametrize("release", RELEASES)
def test_an_older_release_is_detected_pinned_and_served_exactly(workdir, release):
    model_file, payload, expected = trained(workdir, release)
    version = RELEASES[release][3]
    project = workdir / f"served-{release.replace(' ', '-').replace('.', '-')}"
    result = mcc_new(project, "--model-file", str(model_file), "--sample-payload", str(payload))
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert f"was saved with {release}" in said and "resolved by pip, not tested" in said
    pins = (project / "requirements.txt").read_text().splitlines()
    package = "xgboost-cpu" if release.startswith("xgboost") else "scikit-learn"
    assert f"{package}=={version}" in pins
    assert all("==" in line for line in pins)  # a complete closure, every line pinned
    readme = (project / "README.md").read_text()
    assert "**Resolved, not tested.**" in readme and f"saved with {release}" in readme
    python = project_venv(project)  # --no-deps + pip check: the resolved closure is complete and consistent
    with LocalServer(project, python=python) as server:
        status, _, answer = invoke(server.url, payload.read_bytes(), "text/csv", "application/json")
    assert status == 200, answer
    assert json.loads(answer)["predictions"] == pytest.approx(expected, rel=1e-6, abs=1e-6)
    own = own_tests(project, python)
    assert own.returncode == 0, own.stdout + own.stderr


def test_a_version_that_contradicts_the_file_names_both_and_writes_nothing(workdir):
    model_file, _, _ = trained(workdir, "scikit-learn 1.3.2")
    result = mcc_new(workdir / "refused", "--model-file", str(model_file), "--framework-version", "1.9.1")
    assert result.returncode == 2
    text = stderr_text(result)
    assert "'1.9.1'" in text and "was saved with scikit-learn 1.3.2 (the estimators' _sklearn_version)" in text
    assert not (workdir / "refused").exists()


def test_a_release_that_does_not_exist_is_refused_with_pips_reason(workdir, wine):
    import lightgbm

    model_file = workdir / "lightgbm.txt"  # LightGBM's text format records no library release
    lightgbm.train({"verbose": -1}, lightgbm.Dataset(*wine), 3).save_model(model_file)
    result = mcc_new(workdir / "refused", "--model-file", str(model_file), "--framework-version", "4.99.0")
    assert result.returncode == 2
    text = stderr_text(result)
    assert "is not a version mcc tests (4.7.0), and pip could not resolve it for the image" in text
    assert "lightgbm==4.99.0" in text and not (workdir / "refused").exists()


def test_offline_the_error_names_the_tested_versions(workdir):
    model_file, _, _ = trained(workdir, "scikit-learn 1.3.2")
    offline = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
               "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "", "PIP_RETRIES": "0", "PIP_NO_INDEX": ""}  # fmt: skip
    result = mcc_new(workdir / "refused", "--model-file", str(model_file), env=offline)
    assert result.returncode == 2
    text = stderr_text(result)
    assert "is not a version mcc tests (1.9.1)" in text and "is the package index reachable from here?" in text
    assert not (workdir / "refused").exists()
