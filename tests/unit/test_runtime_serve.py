import os
import socket
import subprocess

import pytest

from mcc.render import TEMPLATES_DIR
from mcc_runtime import nginx, serve

from .runtime_fixtures import make_project, settings_for

NGINX_TEMPLATE = (TEMPLATES_DIR / "predictive" / "nginx.conf").read_text()


@pytest.fixture
def settings(tmp_path, wine_model_file):
    return settings_for(make_project(tmp_path, wine_model_file), MCC_WORKERS="3")


def test_gunicorn_command(settings, tmp_path):
    command = serve.gunicorn_command(settings, tmp_path / "s.sock")
    joined = " ".join(command)
    assert f"--bind unix:{tmp_path / 's.sock'}" in joined
    assert "--workers 3" in joined
    assert "--worker-class sync" in joined
    assert "--preload" in command
    assert "--no-control-socket" in command
    assert "--config python:mcc_runtime.gunicorn_config" in joined  # each worker's own socket
    assert "--access-logfile" not in command
    assert command[-1] == "mcc_runtime.apps.flask_app:create_app()"


def test_child_environment_defaults_one_thread_but_keeps_the_users_choice(settings):
    env = serve.child_environment(settings, {"OPENBLAS_NUM_THREADS": "4", "PYTHONPATH": "/x"})
    assert env["OMP_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"
    assert env["OPENBLAS_NUM_THREADS"] == "4"
    assert env["PYTHONPATH"] == f"{settings.code_dir}{os.pathsep}/x"
    assert "MCC_WORKER_SOCKETS" not in env
    assert serve.child_environment(settings, {}, settings.code_dir / "w")["MCC_WORKER_SOCKETS"] == str(
        settings.code_dir / "w"
    )


def test_render_replaces_every_placeholder_and_refuses_unknown_ones():
    assert nginx.render("listen @PORT@; # @PORT@", {"PORT": "80"}) == "listen 80; # 80"
    with pytest.raises(nginx.TemplateError, match="@SOMETHING@"):
        nginx.render("x @SOMETHING@", {})


def test_the_project_nginx_conf_renders_into_a_config_nginx_accepts(settings, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    conf = nginx.render(NGINX_TEMPLATE, nginx.values(settings, run_dir, run_dir / "app.sock"))
    assert "@" not in conf.replace("location @", "").replace("= @", "")
    assert f"listen {settings.port};" in conf
    assert f"client_max_body_size {settings.max_payload_bytes};" in conf
    upstream = conf.split("upstream model_server {")[1].split("}")[0]
    assert "least_conn;" in upstream and "zone model_server" in upstream
    assert upstream.count("server unix:") == settings.workers == 3  # a socket per worker
    (run_dir / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [nginx.find_nginx(), "-t", "-c", str(run_dir / "nginx.conf"), "-p", str(run_dir), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_mcc_bind_host_makes_nginx_listen_on_that_address_only(tmp_path, wine_model_file):
    project = make_project(tmp_path, wine_model_file)
    everywhere, local = settings_for(project), settings_for(project, MCC_BIND_HOST="127.0.0.1")
    assert nginx.values(everywhere, tmp_path, tmp_path / "s")["LISTEN"] == "8080"  # SageMaker's: every interface
    assert nginx.values(local, tmp_path, tmp_path / "s")["LISTEN"] == "127.0.0.1:8080"
    assert serve.ready_url("", 8080) == serve.ready_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert serve.ready_url("::1", 9000) == "http://[::1]:9000"


def test_a_busy_or_forbidden_port_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve.port_problem("127.0.0.1", port).startswith(f"127.0.0.1:{port} is already in use")
        assert serve.port_problem("", port).startswith(f"port {port} is already in use")
    assert serve.port_problem("127.0.0.1", port) is None  # free again
    assert "cannot listen on 192.0.2.1:" in serve.port_problem("192.0.2.1", port)  # not this machine's address


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop only happens when started as root")
def test_privilege_drop_when_root(tmp_path, wine_model_file):
    settings = settings_for(make_project(tmp_path, wine_model_file), MCC_RUN_AS_USER="nobody")
    group = nginx.privilege_drop(settings)[1]
    assert nginx.values(settings, tmp_path, tmp_path / "s")["USER_DIRECTIVE"] == f"user nobody {group};"
    command = serve.gunicorn_command(settings, tmp_path / "s")
    assert command[command.index("--user") + 1] == "nobody"
    assert command[command.index("--group") + 1] == group
    with pytest.raises(ValueError, match="not a user"):
        nginx.privilege_drop(settings_for(settings.code_dir, MCC_RUN_AS_USER="no-such-user-xyz"))


def test_no_privilege_drop_without_a_user(settings):
    assert nginx.privilege_drop(settings) is None
    assert nginx.values(settings, settings.code_dir, settings.code_dir / "s")["USER_DIRECTIVE"] == ""


def test_serve_refuses_other_commands(capsys):
    assert serve.main(["train"]) == 2
    assert "this image only serves" in capsys.readouterr().err


def test_find_nginx_honours_the_override():
    assert nginx.find_nginx({"MCC_NGINX_BIN": "/opt/nginx"}) == "/opt/nginx"
    assert os.access(nginx.find_nginx({}), os.X_OK)
