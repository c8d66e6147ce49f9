"""The user's own code and packages (issue: any real model artifact): a pipeline with a custom transformer class
served through --code-dir, a class of the training script (__main__) explained at `mcc new`, modules nothing
provides refused, the framework read from what a pickle names and a contradicting --framework refused, and
--requirements merged into the pins."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import yaml

from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.projects import own_tests, readable_folder, stderr_text
from tests.support.projects import run_mcc_new as mcc_new
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow

FEATURES = textwrap.dedent('''
    """Feature engineering shared by training and serving."""
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin


    class LogFeatures(BaseEstimator, TransformerMixin):
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return np.log1p(np.abs(X))
''')
SCRIPT = textwrap.dedent("""
    import sys
    import joblib
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline


    class LogFeatures(BaseEstimator, TransformerMixin):
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return np.log1p(np.abs(X))


    X = np.random.default_rng(0).normal(size=(60, 4))
    joblib.dump(make_pipeline(LogFeatures(), LogisticRegression()).fit(X, X[:, 0] > 0), sys.argv[1])
""")


@pytest.fixture(scope="module")
def workdir():
    with readable_folder("mcc-user-code-") as parent:
        yield parent


@pytest.fixture(scope="module")
def custom(workdir, wine):
    """A pipeline whose first step is features.LogFeatures, from a module of the user's own."""
    code = workdir / "src"
    code.mkdir()
    (code / "features.py").write_text(FEATURES)
    sys.path.insert(0, str(code))
    try:
        features = importlib.import_module("features")
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        model = make_pipeline(features.LogFeatures(), LogisticRegression(max_iter=2000)).fit(*wine)
        joblib.dump(model, workdir / "custom.joblib")
    finally:
        sys.path.remove(str(code))
        sys.modules.pop("features", None)
    return code, workdir / "custom.joblib", model


def test_a_module_nothing_provides_is_refused_naming_the_fix(workdir, custom):
    _, path, _ = custom
    result = mcc_new(workdir / "refused", "--model-file", str(path))
    assert result.returncode == 2
    assert "refers to features.LogFeatures, and nothing the image installs provides the module" in stderr_text(result)
    assert "--code-dir DIR" in stderr_text(result) and not (workdir / "refused").exists()


def test_a_custom_class_pipeline_is_served_through_code_dir(workdir, custom, wine, wine_payload_file):
    code, path, model = custom
    requirements = workdir / "extra-requirements.txt"
    requirements.write_text("scikit-learn>=1.0  # already pinned\n")
    project = workdir / "custom-class"
    result = mcc_new(project, "--model-file", str(path), "--code-dir", str(code), "--requirements", str(requirements),
                     "--sample-payload", str(wine_payload_file))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (project / "code" / "features.py").read_text() == FEATURES
    answers = yaml.safe_load((project / "mcc.yaml").read_text())
    assert (answers["model"]["code_dir"], answers["model"]["requirements"]) == (str(code), str(requirements))
    rows = wine[0][:30]
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    python = project_venv(project)
    with LocalServer(project, python=python) as server:
        status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert status == 200 and json.loads(answer)["predictions"] == model.predict(rows).tolist()
    own = own_tests(project, python)
    assert own.returncode == 0, own.stdout + own.stderr


def test_a_class_of_the_training_script_is_explained(workdir):
    path = workdir / "script.joblib"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True)
    result = mcc_new(workdir / "refused", "--model-file", str(path))
    assert result.returncode == 2
    text = stderr_text(result)
    assert "refers to LogFeatures, defined in the training script (__main__)" in text
    assert "Move it into a module of its own" in text and "--code-dir DIR" in text


def test_the_framework_comes_from_the_pickle_and_a_contradiction_is_refused(workdir, wine_model_file, wine):
    import xgboost

    booster_path = workdir / "xgb.joblib"
    joblib.dump(xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(*wine), booster_path)
    inferred = mcc_new(workdir / "inferred", "--model-file", str(booster_path))
    assert inferred.returncode == 0, inferred.stderr
    assert yaml.safe_load((workdir / "inferred" / "mcc.yaml").read_text())["model"]["framework"] == "xgboost"
    wrong = mcc_new(workdir / "refused", "--framework", "xgboost", "--model-file", str(wine_model_file))
    assert wrong.returncode == 2
    assert "holds a model that needs sklearn (sklearn.pipeline.Pipeline), not XGBoost: use --framework sklearn" in (
        stderr_text(wrong)
    )


def test_requirements_that_contradict_a_pin_are_refused(workdir, wine_model_file):
    requirements = workdir / "conflict.txt"
    requirements.write_text("numpy==1.26.4\n")
    result = mcc_new(workdir / "refused", "--model-file", str(wine_model_file), "--requirements", str(requirements))
    assert result.returncode == 2
    assert "'numpy==1.26.4' conflicts with the image's numpy==" in stderr_text(result)
    assert not (workdir / "refused").exists()


def test_a_code_dir_that_would_replace_the_projects_own_code_is_refused(workdir, wine_model_file):
    clash = workdir / "clash"
    clash.mkdir()
    (clash / "serving.json").write_text("{}")
    (clash / "helpers.py").write_text("X = 1\n")
    result = mcc_new(workdir / "refused", "--model-file", str(wine_model_file), "--code-dir", str(clash))
    assert result.returncode == 2 and "holds serving.json, which the project's own code/ needs" in stderr_text(result)
    assert np.all([not (workdir / "refused").exists()])


PANDAS_INPUT_FN = textwrap.dedent("""
    import io

    import pandas as pd


    def input_fn(request_body, request_content_type):
        text = request_body.decode() if isinstance(request_body, bytes) else request_body
        return pd.read_csv(io.StringIO(text), header=None).to_numpy()
""")


def test_user_code_that_imports_pandas_gets_pandas_in_the_image_for_an_array_model(
    workdir, wine_model_file, wine_model, wine, wine_payload_file
):
    """The model takes an array, so only the user's input_fn needs pandas: it is installed all the same, with and
    without the model check (today's server would fail at start with "No module named 'pandas'")."""
    code = workdir / "pandas-code"
    code.mkdir()
    (code / "inference.py").write_text(PANDAS_INPUT_FN)
    flags = ("--model-file", str(wine_model_file), "--code-dir", str(code), "--sample-payload", str(wine_payload_file))
    project = workdir / "pandas-input"
    result = mcc_new(project, *flags)
    assert result.returncode == 0, result.stderr
    unchecked = mcc_new(workdir / "pandas-unchecked", *flags, "--no-model-check")
    assert unchecked.returncode == 0, unchecked.stderr
    for folder in (project, workdir / "pandas-unchecked"):
        assert any(line.startswith("pandas==") for line in (folder / "requirements.txt").read_text().splitlines())
    rows = wine[0][:20]
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    with LocalServer(project, python=project_venv(project)) as server:
        status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert status == 200 and json.loads(answer)["predictions"] == wine_model.predict(rows).tolist()


CALENDAR = textwrap.dedent('''
    """Calendar features of the signup time, shared by training and serving."""
    import numpy as np


    def calendar_parts(frame):
        moments = frame.iloc[:, 0]
        return np.column_stack([moments.dt.dayofweek, moments.dt.hour, moments.dt.month]).astype(float)
''')


def test_a_timestamp_column_reaches_the_users_calendar_features_as_datetimes(workdir):
    """A pipeline trained on a datetime64 column (the user's FunctionTransformer reads .dt) and a sample CSV as
    pandas writes it: schema.json records a timestamp column, and ISO dates and times in CSV and JSON (with Z)
    are answered as the pipeline predicts the training frame's rows; an impossible date is named."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    code = workdir / "calendar-src"
    code.mkdir()
    (code / "signup_features.py").write_text(CALENDAR)
    rng = np.random.default_rng(4)
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, 300), unit="min")
    frame = pd.DataFrame({"plan": rng.choice(["basic", "pro"], 300), "signup": signup,
                          "age": rng.integers(18, 80, 300)})  # fmt: skip
    target = (frame.signup.dt.dayofweek >= 5) ^ (frame.plan == "pro")
    sys.path.insert(0, str(code))
    try:
        features = importlib.import_module("signup_features")
        columns = ColumnTransformer([("when", FunctionTransformer(features.calendar_parts), ["signup"]),
                                     ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])],
                                    remainder="passthrough")  # fmt: skip
        model = make_pipeline(columns, HistGradientBoostingClassifier(max_iter=30, random_state=0)).fit(frame, target)
        joblib.dump(model, workdir / "calendar.joblib")
    finally:
        sys.path.remove(str(code))
        sys.modules.pop("signup_features", None)
    sample = workdir / "calendar-sample.csv"
    frame.head(5).to_csv(sample, index=False)  # signup written as "2024-05-04 13:21:00"
    project = workdir / "calendar"
    result = mcc_new(project, "--model-file", str(workdir / "calendar.joblib"), "--code-dir", str(code),
                     "--sample-payload", str(sample))  # fmt: skip
    assert result.returncode == 0, result.stderr
    schema = json.loads((project / "code" / "schema.json").read_text())
    assert [(c["name"], c["kind"]) for c in schema["columns"]] == [("plan", "text"), ("signup", "timestamp"),
                                                                   ("age", "number")]  # fmt: skip
    rows = frame.iloc[40:70]
    expected = model.predict(rows).tolist()
    records = [{"plan": p, "signup": s.isoformat() + "Z", "age": int(a)} for p, s, a in rows.itertuples(index=False)]
    with LocalServer(project, python=project_venv(project)) as server:
        for body, content_type in [(rows.to_csv(index=False).encode(), "text/csv"),
                                   (json.dumps(records).encode(), "application/json")]:  # fmt: skip
            status, _, answer = invoke(server.url, body, content_type, "application/json")
            assert (status, json.loads(answer)["predictions"]) == (200, expected)
        status, _, answer = invoke(server.url, b"plan,signup,age\npro,2024-02-30 10:00:00,40\n", "text/csv",
                                   "application/json")  # fmt: skip
    assert (status, json.loads(answer)["error"]) == (400, "row 1, column 'signup': '2024-02-30 10:00:00' is not an "
                                                          "ISO 8601 date or time (2024-03-01T09:30:00)")  # fmt: skip
