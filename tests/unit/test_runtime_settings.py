import json

import pytest

from mcc_runtime.cpus import cgroup_cpu_limit, usable_cpus
from mcc_runtime.settings import Settings, SettingsError

from .runtime_fixtures import make_project, settings_for


@pytest.fixture
def code(tmp_path, wine_model_file):
    return make_project(tmp_path, wine_model_file)


def test_defaults_come_from_serving_json_and_the_machine(code):
    settings = Settings.load(code, {})
    assert settings.port == 8080
    assert str(settings.model_dir) == "/opt/ml/model"
    assert settings.workers == usable_cpus()
    assert settings.timeout_s == 60
    assert settings.max_payload_mb == 1
    assert settings.max_payload_bytes == 1024 * 1024
    assert settings.handler == "sklearn"
    assert settings.preload is True
    assert settings.access_log is False
    assert settings.run_as_user is None
    assert settings.project_dir == code.parent


def test_environment_overrides(code):
    settings = settings_for(
        code,
        SAGEMAKER_BIND_TO_PORT="9001",
        MCC_WORKERS="3",
        SAGEMAKER_MODEL_SERVER_TIMEOUT="15",
        MCC_MAX_PAYLOAD_MB="20",
        MCC_ACCESS_LOG="yes",
        MCC_RUN_AS_USER="model-server",
        MCC_LOG_LEVEL="DEBUG",
    )
    assert (settings.port, settings.workers, settings.timeout_s, settings.max_payload_mb) == (9001, 3, 15, 20)
    assert settings.access_log is True
    assert settings.run_as_user == "model-server"
    assert settings.log_level == "debug"
    assert settings.model_dir == code.parent / "model"


def test_sagemaker_worker_variable_is_honoured_but_mcc_wins(code):
    assert settings_for(code, SAGEMAKER_MODEL_SERVER_WORKERS="5").workers == 5
    assert settings_for(code, SAGEMAKER_MODEL_SERVER_WORKERS="5", MCC_WORKERS="2").workers == 2


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SAGEMAKER_BIND_TO_PORT", "http", "is not a whole number"),
        ("MCC_JSON_RESPONSE", "list", "must be one of object, array"),
        ("MCC_WORKERS", "0", "must be at least 1"),
        ("MCC_MAX_PAYLOAD_MB", "-1", "must be at least 1"),
        ("MCC_ACCESS_LOG", "maybe", "must be one of"),
    ],
)
def test_invalid_environment_values_are_named(code, name, value, message):
    with pytest.raises(SettingsError, match=f"{name}='{value}' {message}"):
        settings_for(code, **{name: value})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"handler": "sklearn", "feature_names": ["a"]}, "unknown keys: feature_names"),
        ({"handler": "sklearn", "preload": "true"}, "preload must be bool, not 'true'"),
        ({"handler": "sklearn", "max_payload_mb": "6"}, "max_payload_mb must be int, not '6'"),
        ({"handler": "sklearn", "server": {"threads": 2, "proces": 1}}, "server: unknown keys: proces"),
        ({"kind": "generative"}, "a generative project needs its engine and generation settings"),
        ({"model_format": "joblib"}, "a predictive project needs its framework handler"),
    ],
)
def test_serving_json_with_a_key_or_type_the_runtime_does_not_know_is_refused(tmp_path, content, message):
    (tmp_path / "serving.json").write_text(json.dumps(content))
    with pytest.raises(SettingsError, match=message):
        Settings.load(tmp_path, {})


def test_missing_or_broken_serving_json(tmp_path):
    with pytest.raises(SettingsError, match=r"serving\.json is missing"):
        Settings.load(tmp_path, {})
    (tmp_path / "serving.json").write_text("{")
    with pytest.raises(SettingsError, match="not valid JSON"):
        Settings.load(tmp_path, {})


@pytest.mark.parametrize(
    ("cpu_max", "expected"), [("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1), ("max 100000", None)]
)
def test_cgroup_v2_quota(tmp_path, cpu_max, expected):
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert cgroup_cpu_limit(tmp_path / "cpu.max", tmp_path / "q", tmp_path / "p") == expected


def test_cgroup_v1_quota_and_no_cgroup(tmp_path):
    (tmp_path / "q").write_text("300000")
    (tmp_path / "p").write_text("100000")
    assert cgroup_cpu_limit(tmp_path / "none", tmp_path / "q", tmp_path / "p") == 3
    (tmp_path / "q").write_text("-1")
    assert cgroup_cpu_limit(tmp_path / "none", tmp_path / "q", tmp_path / "p") is None
    assert usable_cpus() >= 1


def test_a_transform_job_sets_the_body_limit_unless_mcc_max_payload_mb_does(code):
    batch = {"SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "50"}
    assert (Settings.load(code, batch).batch, Settings.load(code, batch).max_payload_mb) == (True, 50)
    assert Settings.load(code, {**batch, "MCC_MAX_PAYLOAD_MB": "20"}).max_payload_mb == 20
    assert Settings.load(code, {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "50"}).max_payload_mb == 1  # not a transform job
    assert Settings.load(code, {**batch, "SAGEMAKER_MAX_PAYLOAD_IN_MB": "0"}).max_payload_mb == 1  # none given
    with pytest.raises(SettingsError, match="SAGEMAKER_BATCH"):
        Settings.load(code, {"SAGEMAKER_BATCH": "maybe"})


def test_the_default_accept_comes_from_sagemakers_variable(code):
    assert Settings.load(code, {}).default_accept == "application/json"
    assert Settings.load(code, {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}).default_accept == "text/csv"
