"""The static checks: clean on every generated variant, and each one catches what it is for."""

import shutil

import pytest

from mcc.checks import check_project
from mcc.checks.dockerfile import check_dockerfile, parse
from mcc.checks.linters import hadolint, shellcheck
from mcc.checks.secrets import scan_secrets
from mcc.defaults import with_defaults
from mcc.plan import plan_project
from mcc.render import write_project
from mcc.sources import Given
from mcc.spec_check import build_spec
from mcc_lifecycle.dockerignore import DockerIgnore


def generate(catalog, target, model_file, **extra):
    values = {"project_name": "checked", "model_file": str(model_file), "output_dir": str(target), **extra}
    spec = build_spec(with_defaults({k: Given(v, "test") for k, v in values.items()}, catalog, {}), catalog)
    return write_project(plan_project(spec, catalog), spec.output_dir).target


@pytest.fixture(scope="module")
def pristine(catalog, tmp_path_factory, wine_model_file):
    return generate(catalog, tmp_path_factory.mktemp("gen") / "checked", wine_model_file)


@pytest.fixture
def project(pristine, tmp_path):
    return shutil.copytree(pristine, tmp_path / "checked", symlinks=True)


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("web_server", ["flask", "fastapi"])
@pytest.mark.parametrize("include_tests", [True, False])
def test_every_generated_variant_passes_every_check(catalog, tmp_path, wine_model_file, web_server, include_tests):
    project = generate(catalog, tmp_path / "p", wine_model_file, web_server=web_server, include_tests=include_tests)
    assert check_project(project, require_linters=True) == []


@pytest.mark.parametrize(
    ("old", "new", "check", "message"),
    [
        ("FROM python:3.11.13-slim-bookworm", "FROM python:latest", "base-image-pinned", "not pinned"),
        ("FROM python:3.11.13-slim-bookworm", "FROM python", "base-image-pinned", "not pinned"),
        ("FROM python:3.11.13-slim-bookworm", "FROM python:slim", "base-image-pinned", "not pinned"),
        ("EXPOSE 8080", "EXPOSE 80", "port", "port 8080 is not exposed"),
        ("LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true", "LABEL a=b", "port", "label"),
        ("COPY nginx.conf", "COPY nginx.conf.missing", "copy-sources", "does not exist"),
        ('ENTRYPOINT ["/opt/program/code/serve"]', "ENTRYPOINT /opt/program/code/serve", "entrypoint", "exec form"),
        ('ENTRYPOINT ["/opt/program/code/serve"]', 'ENTRYPOINT ["/usr/bin/serve"]', "entrypoint", "not copied"),
        ("ENV MCC_RUN_AS_USER=model-server", "ENV OTHER=1", "privilege-drop", "would run as root"),
        ("useradd", "groupadd", "privilege-drop", "no RUN creates that user"),
        ("# checked:", "# syntax=docker/dockerfile:1\n# checked:", "no-frontend-pull", "frontend image"),
        (" rm -rf /var/lib/apt/lists/*", " true", "image-minimal", "apt-get install leaves its lists"),
    ],
)
def test_dockerfile_defects_are_caught(project, old, new, check, message):
    edit(project / "Dockerfile", old, new)
    findings = [f for f in check_dockerfile(project) if f.check == check]
    assert findings and message in findings[0].message


def test_a_final_non_root_user_satisfies_the_privilege_check(project):
    edit(project / "Dockerfile", "ENV MCC_RUN_AS_USER=model-server", "USER model-server")
    assert [f for f in check_dockerfile(project) if f.check == "privilege-drop"] == []
    edit(project / "Dockerfile", "USER model-server", "USER root")
    assert [f for f in check_dockerfile(project) if f.check == "privilege-drop"]


def test_entrypoint_must_be_executable_and_present(project):
    (project / "code" / "serve").chmod(0o644)
    assert "not executable" in check_dockerfile(project)[0].message
    (project / "code" / "serve").unlink()
    assert "does not exist" in " ".join(f.message for f in check_dockerfile(project))


def test_copy_sources_excluded_by_dockerignore(project):
    edit(project / ".dockerignore", "!model/", "")
    findings = [f for f in check_dockerfile(project) if f.check == "copy-sources"]
    assert findings and "excluded by .dockerignore" in findings[0].message


def test_dockerignore_semantics():
    ignore = DockerIgnore.from_text("*\n!code/\n!model\n**/__pycache__\ncode/secret.txt\n# comment\n")
    assert ignore.ignored(".env")
    assert ignore.ignored("tests/test_x.py")
    assert not ignore.ignored("code/serve")
    assert not ignore.ignored("model/m.joblib")
    assert ignore.ignored("code/mcc_runtime/__pycache__/x.pyc")
    assert ignore.ignored("code/secret.txt")
    assert not DockerIgnore.from_text("").ignored("anything")


def test_parser_joins_continuations_and_skips_comments():
    instructions = parse("# c\nFROM a:1\nRUN x \\\n  # inner comment\n  && y\n\nENV A=1\n")
    assert [(i.keyword, i.arguments, i.line) for i in instructions] == [
        ("FROM", "a:1", 2),
        ("RUN", "x  && y", 3),
        ("ENV", "A=1", 7),
    ]


def test_secrets_are_found(project):
    assert scan_secrets(project) == []
    (project / "do" / "config").write_text("AWS_KEY=AKIAABCDEFGHIJKLMNOP\n")
    (project / "README.md").write_text("token hf_" + "a" * 34 + "\n")
    found = {(f.path, f.message) for f in scan_secrets(project)}
    assert ("do/config", "looks like a AWS access key id") in found
    assert ("README.md", "looks like a Hugging Face token") in found


def test_linters_report_real_problems(project):
    (project / "do" / "bad").write_text("#!/usr/bin/env bash\nrm -rf $TARGET/*\n")
    assert any("SC2086" in f.message for f in shellcheck([project / "do" / "bad"], required=True))
    edit(project / "Dockerfile", "apt-get install -y --no-install-recommends nginx=1.22.*", "apt-get install -y nginx")
    messages = " ".join(f.message for f in hadolint(project / "Dockerfile", required=True))
    assert "DL3008" in messages and "DL3015" in messages
