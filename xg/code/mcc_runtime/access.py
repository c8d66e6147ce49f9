"""Whether the unprivileged user that runs the workers can read the model.

``code/serve`` starts as root and its workers run as ``MCC_RUN_AS_USER``. A model whose files are readable by
their owner only (safetensors writes 0600 files; a model.tar.gz keeps the modes it was packed with) loads as
root and fails in every worker with a misleading "No such file" or "Permission denied". This check names the
files at start instead.
"""

from __future__ import annotations

import pwd
import stat
from pathlib import Path

SHOWN = 5  # files named in the error; the rest are counted


def unreadable(directory: Path, uid: int, gid: int) -> list[str]:
    """Entries under ``directory`` that ``uid``/``gid`` cannot read (files) or list and enter (directories)."""
    found = []
    for path in [directory, *sorted(directory.rglob("*"))]:
        try:
            status = path.stat()
        except OSError:
            continue  # a broken link: the loader reports it, if it matters
        need = 0o5 if stat.S_ISDIR(status.st_mode) else 0o4
        shift = 6 if status.st_uid == uid else 3 if status.st_gid == gid else 0
        if (status.st_mode >> shift) & need != need:
            name = path.relative_to(directory).as_posix() if path != directory else "."
            found.append(f"{name} (mode {stat.S_IMODE(status.st_mode):04o}, owner uid {status.st_uid})")
    return found


def require_readable(directory: Path, user: str | None) -> None:
    """ValueError naming the files of ``directory`` that ``user`` (the workers' user; None: no drop) cannot read."""
    if user is None or not directory.is_dir():
        return
    entry = pwd.getpwnam(user)
    found = unreadable(directory, entry.pw_uid, entry.pw_gid)
    if found:
        more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        raise ValueError(
            f"the workers run as {user} (uid {entry.pw_uid}) and cannot read the model in {directory}: "
            f"{', '.join(found[:SHOWN])}{more}. Make the files readable by all before packing or mounting them "
            "(chmod -R a+rX model/), e.g. tar --mode=a+rX when making model.tar.gz"
        )
