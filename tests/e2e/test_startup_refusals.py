"""Every start-up refusal that gives advice, followed as written, starts the server (the issue "Beyond one
numeric array": advice that does not work is worse than none). A DataFrame pipeline's generated project, run
with the container's own entrypoint: refused with one line naming the fix, then started after the fix."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support import tabular
from tests.support.projects import readable_folder, startup_refusal
from tests.support.projects import run_mcc_new as mcc_new
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def churn():
    """The churn pipeline's project (it takes a DataFrame), its environment, and a request with its answer."""
    with readable_folder("mcc-refusals-") as parent:
        model = tabular.churn_pipeline(parent)
        sample = parent / "sample.csv"
        sample.write_bytes(tabular.csv_body(model.rows.head(5)))
        project = parent / "churn"
        result = mcc_new(project, "--model-file", str(model.path), "--sample-payload", str(sample))
        assert result.returncode == 0, result.stderr
        rows = model.rows.head(8)
        yield project, project_venv(project), (tabular.csv_body(rows), model.predict(rows))


def answers(project: Path, python: str, request: tuple[bytes, list], env: dict[str, str] | None = None) -> None:
    """The server starts with ``env`` and answers as the model predicts."""
    body, expected = request
    with LocalServer(project, python=python, env=env) as server:
        status, _, answer = invoke(server.url, body, "text/csv", "application/json")
    assert (status, json.loads(answer)["predictions"]) == (200, expected)


def test_a_model_directory_that_is_not_there_names_mcc_model_dir(churn):
    project, python, request = churn
    line = startup_refusal(project, python, {"MCC_MODEL_DIR": "/opt/ml/nowhere"})
    assert line.endswith("cannot load the model: model directory /opt/ml/nowhere does not exist (set MCC_MODEL_DIR)")
    answers(project, python, request, {"MCC_MODEL_DIR": str(project / "model")})


def test_model_files_the_workers_cannot_read_name_the_chmod_that_fixes_them(churn):
    project, python, request = churn
    mounted = project.parent / "unreadable-model"  # as a model.tar.gz packed from files of mode 600 unpacks
    shutil.copytree(project / "model", mounted)
    for path in [mounted, *mounted.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    env = {"MCC_MODEL_DIR": str(mounted), "MCC_RUN_AS_USER": "nobody"}  # as the image's workers drop to one
    line = startup_refusal(project, python, env)
    assert "the workers run as nobody" in line and "cannot read the model in" in line
    command = re.search(r"\((chmod -R a\+rX) model/\)", line).group(1).split()
    subprocess.run([*command, str(mounted)], check=True)  # the advice, on this model directory
    answers(project, python, request, env)


def test_a_run_directory_too_long_for_a_socket_names_mcc_run_dir(churn, tmp_path):
    project, python, request = churn
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    line = startup_refusal(project, python, {"MCC_RUN_DIR": str(deep)})
    assert line.endswith("is too long for a unix socket; set MCC_RUN_DIR to a shorter directory")
    short = Path("/tmp") / f"mcc-r{os.getpid()}"
    short.mkdir(exist_ok=True)
    try:
        answers(project, python, request, {"MCC_RUN_DIR": str(short)})
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_probabilities_asked_of_a_model_that_gives_none_name_the_setting_that_serves_labels(churn, tmp_path):
    """A classifier without predict_proba, put where the project's model is (as a retrained model is)."""
    import joblib
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    project, python, _ = churn
    (artifact,) = (project / "model").iterdir()
    frame, target = tabular.customers(rows=200)
    svc = make_pipeline(clone(joblib.load(artifact)[0]), LinearSVC()).fit(frame, target)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    tmp_path.chmod(0o755)
    joblib.dump(svc, model_dir / artifact.name)
    (model_dir / artifact.name).chmod(0o644)
    env = {"MCC_MODEL_DIR": str(model_dir), "MCC_PREDICT_OUTPUT": "both"}
    line = startup_refusal(project, python, env)
    assert line.endswith("gives none (it is not a probabilistic classifier); serve labels with "
                         "MCC_PREDICT_OUTPUT=label (or mcc new --predict-output label)")  # fmt: skip
    rows = frame.head(8)
    answers(project, python, (tabular.csv_body(rows), svc.predict(rows).tolist()),
            {**env, "MCC_PREDICT_OUTPUT": "label"})  # fmt: skip


def test_a_dataframe_model_without_pandas_names_the_requirements_file(churn, tmp_path):
    """The project's environment built from requirements.txt without its pandas line: refused; with the line
    added back to requirements.txt (the advice), the environment made from it serves."""
    project, _, request = churn
    copy = tmp_path / "churn"
    shutil.copytree(project, copy)
    tmp_path.chmod(0o755)
    requirements = (copy / "requirements.txt").read_text()
    pandas = [line for line in requirements.splitlines() if line.startswith("pandas==")]
    assert len(pandas) == 1, requirements
    (copy / "requirements.txt").write_text(requirements.replace(pandas[0] + "\n", ""))
    without = project_venv(copy)
    line = startup_refusal(copy, without, {"MCC_MODEL_DIR": str(project / "model")})
    assert line.endswith("takes a pandas DataFrame (age, plan, income, region), but pandas is not installed; add it "
                         "to requirements.txt")  # fmt: skip
    (copy / "requirements.txt").write_text(requirements)
    answers(copy, project_venv(copy), request, {"MCC_MODEL_DIR": str(project / "model")})
