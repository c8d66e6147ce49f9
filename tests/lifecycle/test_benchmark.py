"""do/benchmark: a concurrency sweep against the real local server (nginx + the app), and against the endpoint
on the AWS emulator; the figures, the saved JSON and CSV, cost per million from the catalog's prices, and the
side-by-side comparison of saved runs. The streamed chat figures are proven against llama.cpp in
tests/e2e/test_llamacpp.py."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from mcc.catalog import load_catalog
from mcc_lifecycle import benchmark
from mcc_lifecycle.benchmark import Level, Run, Sample, percentile, stream_sample, summarize
from mcc_runtime.local import LocalServer
from tests.lifecycle.conftest import run_do
from tests.lifecycle.test_do_scripts import seed_endpoint_answer


def saved_runs(project) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((project / "dist" / "benchmark").glob("*.json"))]


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50.0, 90.0, 99.0)
    assert percentile([7.0], 99) == 7.0


def test_a_level_counts_failures_apart_and_prices_a_million_requests():
    samples = [Sample(0.010, True)] * 90 + [Sample(0.500, False)] * 10
    level = summarize(4, samples, wall_s=1.0, usd_per_hour=3.6)
    assert (level.requests, level.errors, level.requests_per_s) == (100, 10, 90.0)
    assert level.p99_ms == pytest.approx(10.0)  # failures do not count as latencies
    assert level.usd_per_million == pytest.approx(3.6 / (90 * 3600) * 1e6)


def test_a_stream_gives_time_to_first_token_gaps_and_tokens():
    chunk = 'data: {"choices": [{"delta": {"content": "%s"}}]}\n'
    role = b'data: {"choices": [{"delta": {"role": "assistant"}}]}\nda'  # a part may end inside a line
    parts = (role, (chunk % "Hel").encode()[2:], (chunk % "lo").encode() + b"data: [DONE]\n")
    events = [{"PayloadPart": {"Bytes": part}} for part in parts]
    sample = stream_sample(benchmark._event_lines(events), start=0.0)
    assert sample.ok and sample.tokens == 2 and len(sample.token_gaps) == 1 and sample.first_token_s > 0
    assert not stream_sample([b"data: [DONE]"], start=0.0).ok  # no content: a failed answer


def test_saved_runs_compare_by_their_best_level_and_cost(tmp_path):
    cheap = Run("endpoint a", "ml.g5.xlarge", 1.41, True, [Level(1, 10, 0, 2.0, 5, 6, 7, 1, 2, 0.1, 80.0, 4.9)])
    big = Run("endpoint b", "ml.g5.12xlarge", 7.09, True, [Level(8, 80, 0, 9.0, 9, 9, 9, 2, 3, 0.1, 700.0, 2.8)])
    files = [benchmark.save(run, tmp_path / run.instance_type)[0] for run in (cheap, big)]
    assert [benchmark.load(f) for f in files] == [cheap, big]
    lines = benchmark.compare([cheap, big]).splitlines()
    assert lines[1].split()[2:] == ["ml.g5.xlarge", "1.41", "1", "2.0", "80.0", "7.0", "4.9000"]
    assert lines[2].split()[2:] == ["ml.g5.12xlarge", "7.09", "8", "9.0", "700.0", "9.0", "2.8000"]


def test_do_benchmark_sweeps_the_real_local_server_and_saves_json_and_csv(project, project_python, aws_env):
    with LocalServer(project, python=project_python, log=subprocess.DEVNULL) as server:
        result = run_do(project, aws_env, "benchmark", "--url", server.url, "--concurrency", "1,4", "--requests", "60")
    assert "req/s" in result.stdout and "p99 ms" in result.stdout
    (run,) = saved_runs(project)
    assert [level["concurrency"] for level in run["levels"]] == [1, 4]
    for level in run["levels"]:
        assert level["requests"] == 60 and level["errors"] == 0 and level["requests_per_s"] > 0
        assert 0 < level["p50_ms"] <= level["p90_ms"] <= level["p99_ms"]
        assert level["ttft_p50_ms"] is None and level["usd_per_million"] is None  # a server here has no price
    with next((project / "dist" / "benchmark").glob("*.csv")).open() as rows:
        assert [row["concurrency"] for row in csv.DictReader(rows)] == ["1", "4"]
    (project / "dist" / "benchmark").rename(project / "dist" / "local-run")


def test_do_benchmark_drives_the_endpoint_and_prices_it_from_the_catalog(project, aws_env, wine_model, wine):
    env = {**aws_env, "INSTANCE_TYPE": "ml.g5.xlarge"}  # an instance type the catalog has a price for
    price = load_catalog().instance_types["ml.g5.xlarge"].usd_per_hour
    seed_endpoint_answer(env, {"predictions": wine_model.predict(wine[0][:1]).tolist()})
    result = run_do(project, env, "benchmark", "--endpoint", "--concurrency", "1,2", "--requests", "8")
    assert f"endpoint wine-life (ml.g5.xlarge, ${price:g}/h)" in result.stdout
    (run,) = saved_runs(project)
    assert run["usd_per_hour"] == price
    for level in run["levels"]:
        assert level["errors"] == 0 and level["requests"] == 8
        assert level["usd_per_million"] == pytest.approx(price / (level["requests_per_s"] * 3600) * 1e6)
    compared = run_do(
        project, env, "benchmark", "--compare", *map(str, (project / "dist" / "benchmark").glob("*.json"))
    )
    assert "ml.g5.xlarge" in compared.stdout and "$/1M" in compared.stdout


@pytest.mark.parametrize(("levels", "message"), [("0,4", "each concurrency must be 1 to 1024"), ("a", "not a")])
def test_bad_concurrency_lists_are_refused(project, aws_env, levels, message):
    result = run_do(project, aws_env, "benchmark", "--url", "http://127.0.0.1:9", "--concurrency", levels, check=False)
    assert result.returncode == 2 and message in result.stderr
