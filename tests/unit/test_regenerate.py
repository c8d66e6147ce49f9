"""mcc.yaml round-trips (the issue "A new user's first hour"): in every kind of project the tests generate,
`mcc new --config mcc.yaml --force --yes` rewrites the project file for file, mcc.yaml included."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mcc.cli import main
from tests.support.frameworks import CASES, train
from tests.support.gguf import write_tiny_llama

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
OTHER_VARIANTS = {
    "sample model": ("--sample-model", "--framework", "sklearn"),
    "async endpoint": ("@wine", "--deploy-mode", "async"),
    "serverless endpoint": ("@wine", "--deploy-mode", "serverless"),
    "batch transform": ("@wine", "--deploy-mode", "batch"),
    "inference component": ("@wine", "--deploy-mode", "inference-component"),
    "sample payload and feature names": ("@wine", "@payload", "--predict-output", "both", "--web-server", "flask"),
    "vllm": ("--framework", "transformers", "--model-id", LLAMA_8B, "--hf-token-secret-arn", SECRET),
    "sglang with options": (
        "--framework",
        "transformers",
        "--model-id",
        LLAMA_8B,
        "--engine",
        "sglang",
        "--max-model-len",
        "8192",
    ),
    "neuron": (
        "--framework",
        "transformers",
        "--model-id",
        LLAMA_8B,
        "--instance-type",
        "ml.inf2.xlarge",
        "--max-model-len",
        "8192",
    ),
    "llama.cpp": ("--framework", "transformers", "--engine", "llamacpp", "@gguf"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, wine_model_file, wine_payload_file):
    """Every fixture model (case id -> path), and what the other variants' @-names stand for."""
    directory = tmp_path_factory.mktemp("regenerate-models")
    models = {case.id: train(case, directory) for case in CASES}
    gguf = write_tiny_llama(directory / "tiny-llama.gguf")
    named = {"@wine": ("--model-file", str(wine_model_file)), "@gguf": ("--gguf-file", str(gguf)),
             "@payload": ("--sample-payload", str(wine_payload_file))}  # fmt: skip
    return models, named


def files_of(project: Path) -> dict[str, bytes]:
    return {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


def generate_and_regenerate(tmp_path: Path, monkeypatch, flags: tuple[str, ...]) -> tuple[dict, dict]:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["new", "--yes", "--project-name", "p", *flags], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    project = tmp_path / "p"
    before = files_of(project)
    monkeypatch.chdir(project)
    again = runner.invoke(main, ["new", "--config", "mcc.yaml", "--force", "--yes"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    return before, files_of(project)


def assert_same(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    assert sorted(after) == sorted(before)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [], f"regenerating changed {changed}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_framework_project_regenerates_itself_from_its_mcc_yaml(tmp_path, monkeypatch, inputs, case):
    models, _ = inputs
    flags = ("--framework", case.framework, "--model-file", str(models[case.id]))
    assert_same(*generate_and_regenerate(tmp_path, monkeypatch, flags))


@pytest.mark.parametrize("variant", list(OTHER_VARIANTS))
def test_every_other_kind_of_project_regenerates_itself_from_its_mcc_yaml(tmp_path, monkeypatch, inputs, variant):
    _, named = inputs
    flags = tuple(part for flag in OTHER_VARIANTS[variant] for part in named.get(flag, (flag,)))
    assert_same(*generate_and_regenerate(tmp_path, monkeypatch, flags))
