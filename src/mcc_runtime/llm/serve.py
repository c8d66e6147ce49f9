"""Entrypoint of generative images: read the token, build the engine's command line, run the engine.

Engines that answer /ping and /invocations themselves are exec'd in place (they become the container's
main process). Engines without SageMaker's routes run behind nginx, supervised like predictive servers.
mcc's own Transformers server runs exactly like a predictive project (nginx + gunicorn).
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .. import access, nginx
from ..serve import log, port_problem, ready_url, serve_behind_nginx
from ..settings import Settings, runtime_code_dir
from .launch import Launch, LaunchError, engine_launch, load_settings, materialize
from .secrets import SecretError, token_environment


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["serve"]):
        print(f"usage: serve [serve]   (this image only serves; got {' '.join(args)!r})", file=sys.stderr)
        return 2
    code_dir = runtime_code_dir()
    try:
        settings = load_settings(code_dir)
        engine, generation = settings.engine, settings.generation
        os.environ.update(token_environment(generation.get("hf_token_secret_arn", ""), os.environ))
        if engine["style"] == "runtime":
            from ..serve import main as serve_runtime

            return serve_runtime([])
        launch = engine_launch(engine, generation, os.environ)
        drop = nginx.drop_to(os.environ.get("MCC_RUN_AS_USER"))
        access.require_readable(Path(os.environ.get("MCC_MODEL_DIR") or "/opt/ml/model"), drop[0] if drop else None)
    except (OSError, ValueError, KeyError, LaunchError, SecretError) as exc:
        log(f"error: {exc}")
        return 2
    log(f"{engine['name']}: {' '.join(launch.argv)}")
    for name in sorted(launch.env):
        log(f"{engine['name']}: {name}={launch.env[name]}")
    if launch.engine_port is None:
        return _exec(launch, os.environ)
    return _serve_behind_nginx(launch, engine["name"], code_dir, os.environ)


def run_directory(prefix: str, environ: Mapping[str, str]) -> Path:
    """A fresh directory for this start's files, inside MCC_RUN_DIR when set; OSError naming the setting."""
    parent = environ.get("MCC_RUN_DIR") or None
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:
        where = f"MCC_RUN_DIR={parent}" if parent else tempfile.gettempdir()
        raise OSError(f"cannot make a run directory in {where}: {exc.strerror}") from None


def _exec(launch: Launch, environ: Mapping[str, str]) -> int:
    try:
        workdir = run_directory("mcc-engine-", environ)
        argv = materialize(launch, workdir)
    except OSError as exc:
        log(f"error: {exc}")
        return 2
    env = {**environ, **launch.env}
    try:
        drop = nginx.drop_to(environ.get("MCC_RUN_AS_USER"))
        if drop:
            entry = pwd.getpwnam(drop[0])
            for path in [workdir, *workdir.rglob("*")]:
                shutil.chown(path, entry.pw_uid, entry.pw_gid)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            env["HOME"] = entry.pw_dir
        os.chdir(workdir)
        os.execvpe(argv[0], argv, env)
    except (OSError, ValueError) as exc:
        log(f"error: cannot start {launch.argv[0]}: {exc}")
        return 2
    return 0  # not reached


def _serve_behind_nginx(launch: Launch, name: str, code_dir: Path, environ: Mapping[str, str]) -> int:
    try:
        run_dir = run_directory("mcc-serve-", environ)
    except OSError as exc:
        log(f"error: {exc}")
        return 2
    try:
        settings = Settings.load(code_dir, environ)  # port, body limit, timeout, access log, user: as predictive
        argv = materialize(launch, run_dir)
        run_dir.chmod(0o755)  # the engine, running unprivileged, reads its files here
        values = {**nginx.values(settings, run_dir, run_dir / "unused.sock"), "ENGINE_PORT": str(launch.engine_port)}
        conf = run_dir / "nginx.conf"
        conf.write_text(nginx.render((code_dir.parent / "nginx.conf").read_text(), values))
        nginx_bin = nginx.find_nginx(environ)
        drop = nginx.privilege_drop(settings)
        problem = port_problem(settings.bind_host, settings.port)
        if problem:
            raise ValueError(problem)
    except (OSError, ValueError) as exc:
        log(f"error: {exc}")
        shutil.rmtree(run_dir, ignore_errors=True)
        return 2
    os.chdir(run_dir)
    env = {
        **environ,
        **launch.env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(code_dir), environ.get("PYTHONPATH")])),
    }
    url = ready_url(settings.bind_host, settings.port)
    return serve_behind_nginx((name, argv, drop), nginx_bin, conf, run_dir, env, url)


if __name__ == "__main__":
    sys.exit(main())
