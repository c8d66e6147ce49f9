"""Render the project's ``nginx.conf`` template for this start (port, socket, limits, user)."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from . import worker_sockets
from .settings import Settings

TOKEN = re.compile(r"@([A-Z][A-Z_]*)@")
NGINX_FALLBACKS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


class TemplateError(ValueError):
    """The nginx.conf template uses a token the runtime does not know."""


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace every ``@NAME@`` token; unknown tokens are an error, not silently left in."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"nginx.conf uses @{name}@, which the runtime does not provide")
        return values[name]

    return TOKEN.sub(substitute, template)


def privilege_drop(settings: Settings) -> tuple[str, str] | None:
    """(user, group) that workers switch to: only when started as root and MCC_RUN_AS_USER is set."""
    return drop_to(settings.run_as_user)


def drop_to(user: str | None) -> tuple[str, str] | None:
    if not user or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"MCC_RUN_AS_USER={user!r} is not a user on this system") from None
    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name


def values(settings: Settings, run_dir: Path, socket_path: Path) -> dict[str, str]:
    drop = privilege_drop(settings)
    return {
        "PORT": str(settings.port),
        "LISTEN": f"{settings.bind_host}:{settings.port}" if settings.bind_host else str(settings.port),
        "SOCKET": str(socket_path),
        "WORKER_SOCKETS": worker_sockets.upstream_servers(worker_sockets.directory_in(run_dir), settings.workers),
        "RUN_DIR": str(run_dir),
        "USER_DIRECTIVE": f"user {drop[0]} {drop[1]};" if drop else "",
        "MAX_BODY_BYTES": str(settings.max_payload_bytes),
        "MAX_BODY_MB": str(settings.max_payload_mb),
        "WORKERS": str(settings.workers),
        "TIMEOUT_S": str(settings.timeout_s),
        "ACCESS_LOG": "/dev/stdout" if settings.access_log else "off",
    }


def find_nginx(environ: Mapping[str, str] = os.environ) -> str:
    """MCC_NGINX_BIN, else nginx on PATH, else the usual sbin locations."""
    explicit = environ.get("MCC_NGINX_BIN")
    if explicit:
        return explicit
    found = shutil.which("nginx") or next((p for p in NGINX_FALLBACKS if os.access(p, os.X_OK)), None)
    if not found:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx), or set MCC_NGINX_BIN")
    return found
