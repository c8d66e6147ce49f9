"""wrk as a library for the bench/ scripts: POSTs of one body to one path, parsed figures back."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    url: str,
    row: str,
    args: argparse.Namespace,
    duration: float,
    path: str = "/invocations",
    content_type: str = "text/csv",
    body: str | None = None,
) -> dict[str, float]:
    """Requests/s, p50 and p99 (ms) of POSTing ``body`` (default: the CSV ``row``) for ``duration`` seconds."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    payload = body if body is not None else row + "\n"
    lua = ['wrk.method = "POST"', f'wrk.headers["Content-Type"] = {json.dumps(content_type)}']
    script.write_text("\n".join([*lua, f"wrk.body = {json.dumps(payload)}", ""]))
    command = [
        *("wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{duration:g}s"),
        *("--latency", "-s", str(script), f"{url}{path}"),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    script.unlink()
    if "Non-2xx" in output:
        raise SystemExit(f"non-2xx answers under load:\n{output}")
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for label in ("50", "99"):
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        result[f"p{label}"] = float(value) * UNITS[unit]
    return result
