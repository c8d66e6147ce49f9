"""The Hugging Face token travels from Secrets Manager (moto's server) into the engine's environment at
start, never into its command line or a file. The engine is a stand-in `vllm` on PATH that records what it got."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

TOKEN = "hf_fromSecretsManager0123456789"
STAND_IN = """#!{python}
import json, os, sys
open({record!r}, "w").write(json.dumps({{"argv": sys.argv[1:], "HF_TOKEN": os.environ.get("HF_TOKEN")}}))
"""


@pytest.fixture()
def secret_arn(moto):
    moto.reset()
    client = boto3.client("secretsmanager", endpoint_url=moto.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    return client.create_secret(Name="hf-token", SecretString=json.dumps({"HF_TOKEN": TOKEN}))["ARN"]


def test_the_engine_gets_the_token_from_the_secret_in_its_environment_only(moto, secret_arn, tmp_path):
    project = tmp_path / "llm"
    result = subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "llm", "--framework", "transformers",
         "--engine", "vllm", "--model-id", "Qwen/Qwen2.5-0.5B-Instruct", "--hf-token-secret-arn", secret_arn,
         "--output-dir", str(project)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record, bin_dir = tmp_path / "engine.json", tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vllm").write_text(STAND_IN.format(python=sys.executable, record=str(record)))
    (bin_dir / "vllm").chmod(0o755)
    env = {**moto.env(), "PATH": f"{bin_dir}:/usr/bin:/bin", "SM_NUM_GPUS": "1"}
    started = subprocess.run(
        [sys.executable, str(project / "code" / "serve")], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0, started.stderr
    engine = json.loads(record.read_text())
    assert engine["HF_TOKEN"] == TOKEN
    assert engine["argv"][:2] == ["serve", "Qwen/Qwen2.5-0.5B-Instruct"]
    assert TOKEN not in json.dumps(engine["argv"]) and TOKEN not in started.stderr + started.stdout
    assert all(TOKEN.encode() not in p.read_bytes() for p in project.rglob("*") if p.is_file())


def test_an_unreadable_secret_stops_the_start_with_a_clear_error(moto, tmp_path):
    moto.reset()
    project = tmp_path / "llm"
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    subprocess.run(
        [sys.executable, "-m", "mcc", "new", "--yes", "--project-name", "llm", "--framework", "transformers",
         "--engine", "vllm", "--model-id", "Qwen/Qwen2.5-0.5B-Instruct", "--hf-token-secret-arn", missing,
         "--output-dir", str(project)],
        check=True, capture_output=True,
    )  # fmt: skip
    started = subprocess.run(
        [sys.executable, str(project / "code" / "serve")], env={**moto.env(), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode == 2
    assert "cannot read the Hugging Face token from" in started.stderr and missing in started.stderr
