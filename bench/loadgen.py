"""wrk as a library for the bench/ scripts: 1-row CSV POSTs to /invocations, parsed figures back."""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, row: str, args: argparse.Namespace, duration: float) -> dict[str, float]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/csv"\nwrk.body = "{row}\\n"\n')
    command = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{duration:g}s",
        "--latency",
        "-s",
        str(script),
        f"{url}/invocations",
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
