import json
import os
import stat
from pathlib import Path

import jinja2
import pytest
import yaml

from mcc.defaults import with_defaults
from mcc.errors import InvalidAnswers
from mcc.plan import plan_project
from mcc.render import PlannedFile, render_template, write_project
from mcc.sources import Given, from_file
from mcc.spec_check import build_spec

RUNTIME_SOURCE = Path(__file__).parents[2] / "src" / "mcc_runtime"


def make_spec(catalog, tmp_path, model_file, force=False, **extra):
    values = {
        "project_name": "wine-model",
        "model_file": str(model_file),
        "output_dir": str(tmp_path / "wine"),
        **extra,
    }
    answers = {k: Given(v, "test") for k, v in values.items()}
    return build_spec(with_defaults(answers, catalog, {}), catalog, force=force)


@pytest.fixture
def planned(catalog, tmp_path, wine_model_file, wine_payload_file):
    spec = make_spec(catalog, tmp_path, wine_model_file, sample_payload=str(wine_payload_file))
    return spec, {f.path: f for f in plan_project(spec, catalog)}


def test_templates_render_with_strict_undefined():
    with pytest.raises(jinja2.UndefinedError, match="project_name"):
        render_template("do/config.j2", "common", {})


def test_plan_holds_the_whole_project(planned, catalog):
    _, files = planned
    for path in (
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "requirements-dev.txt",
        "nginx.conf",
        "code/serve",
        "code/inference.py",
        "code/serving.json",
        "do/config",
        "do/build",
        "do/run",
        "do/test",
        "do/benchmark",
        "do/push",
        "do/submit",
        "do/deploy",
        "do/logs",
        "do/clean",
        "do/export",
        "do/package",
        "do/register",
        "do/bootstrap",
        "do/lib/mcc_lifecycle/__main__.py",
        "buildspec.yml",
        "iam/sagemaker-execution-policy.json",
        "iam/codebuild-policy.json",
        "iam/deployer-policy.json",
        "tests/test_handler.py",
        "tests/test_local_server.py",
        "README.md",
        "mcc.yaml",
        "model/wine.joblib",
        "samples/payload.csv",
    ):
        assert path in files, path
    requirements = files["requirements.txt"].content.decode().split()
    assert requirements == catalog.requirements("sklearn", "1.9.1", "fastapi")  # the default web server
    serving = json.loads(files["code/serving.json"].content)
    assert serving["handler"] == "sklearn" and serving["model_filename"] == "wine.joblib"
    assert serving["server"]["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert (serving["max_batch_size"], serving["max_batch_wait_ms"]) == (32, 2)
    scripts = {
        "build",
        "push",
        "submit",
        "deploy",
        "run",
        "test",
        "logs",
        "clean",
        "export",
        "bootstrap",
        "package",
        "register",
        "benchmark",
        "adapter",
        "status",
    }
    assert {p for p, f in files.items() if f.executable} == {"code/serve", *(f"do/{s}" for s in scripts)}


def test_runtime_is_copied_verbatim(planned):
    _, files = planned
    copied = {
        p.removeprefix("code/mcc_runtime/"): f.content for p, f in files.items() if p.startswith("code/mcc_runtime/")
    }
    expected = {p.relative_to(RUNTIME_SOURCE).as_posix(): p.read_bytes() for p in RUNTIME_SOURCE.rglob("*.py")}
    assert copied == expected


def test_answers_record_regenerates_the_same_project(planned, catalog, tmp_path):
    spec, files = planned
    target = write_project(files.values(), spec.output_dir).target
    record = yaml.safe_load((target / "mcc.yaml").read_text())
    assert record["project_name"] == "wine-model"
    assert record["model"]["file"] == "model/wine.joblib"
    answers = with_defaults(from_file(target / "mcc.yaml"), catalog, {})
    again = build_spec(answers, catalog, force=True)
    assert again.output_dir == target
    replanned = {f.path: f for f in plan_project(again, catalog)}
    assert set(replanned) == set(files)
    for path, planned_file in replanned.items():
        new = planned_file.content if planned_file.content is not None else planned_file.source.read_bytes()
        assert new == (target / path).read_bytes(), path


def test_project_without_tests(catalog, tmp_path, wine_model_file):
    spec = make_spec(catalog, tmp_path, wine_model_file, include_tests=False)
    assert not [f for f in plan_project(spec, catalog) if f.path.startswith("tests/")]


def test_write_creates_the_project_with_sane_permissions(planned):
    spec, files = planned
    target = write_project(files.values(), spec.output_dir).target
    assert stat.S_IMODE(target.stat().st_mode) & 0o055 == 0o055  # not the staging dir's 0700
    assert os.access(target / "do" / "run", os.X_OK)
    assert not os.access(target / "do" / "config", os.X_OK)
    assert not [p for p in target.parent.iterdir() if "mcc-staging" in p.name]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    files = [PlannedFile("a.txt", b"a"), PlannedFile("model/m.pkl", source=tmp_path / "vanished.pkl")]
    with pytest.raises(FileNotFoundError):
        write_project(files, tmp_path / "out")
    with pytest.raises(FileNotFoundError):
        write_project(files, tmp_path / "new" / "parents" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_force_replaces_generated_files_and_keeps_the_users(tmp_path):
    target = tmp_path / "out"
    write_project([PlannedFile("a.txt", b"old"), PlannedFile("b/c.txt", b"old")], target)
    (target / "notes.md").write_text("mine")
    with pytest.raises(InvalidAnswers, match="not empty"):
        write_project([PlannedFile("a.txt", b"new")], target)
    assert (target / "a.txt").read_bytes() == b"old"
    (target / "mine.py").write_text("edited")
    written = write_project(
        [
            PlannedFile("a.txt", b"new"),
            PlannedFile("b/c.txt", b"new"),
            PlannedFile("mine.py", b"new", user_owned=True),
            PlannedFile("fresh.py", b"new", user_owned=True),
        ],
        target,
        force=True,
    )
    assert (target / "a.txt").read_bytes() == b"new" and (target / "b" / "c.txt").read_bytes() == b"new"
    assert (target / "notes.md").read_text() == "mine"
    assert (target / "mine.py").read_text() == "edited" and written.kept == ["mine.py"]
    assert (target / "fresh.py").read_bytes() == b"new"
    assert not [p for p in tmp_path.iterdir() if "mcc-staging" in p.name]


def test_write_into_an_existing_empty_directory(tmp_path):
    (tmp_path / "out").mkdir()
    write_project([PlannedFile("a.txt", b"x")], tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"x"
