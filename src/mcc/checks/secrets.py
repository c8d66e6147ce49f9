"""Find credentials written into a project's files (none may reach an image layer or the repo)."""

from __future__ import annotations

import re
from pathlib import Path

from . import Finding

PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[=:]\s*\S{20,}", re.IGNORECASE),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
SKIPPED_DIRS = {".git", ".venv", "__pycache__", "model"}
MAX_BYTES = 2_000_000


def scan_secrets(project: Path) -> list[Finding]:
    findings = []
    for path in sorted(Path(project).rglob("*")):
        relative = path.relative_to(project)
        if not path.is_file() or SKIPPED_DIRS & set(relative.parts) or path.stat().st_size > MAX_BYTES:
            continue
        text = path.read_text(errors="ignore")
        for what, pattern in PATTERNS.items():
            if pattern.search(text):
                findings.append(Finding("secrets", f"looks like a {what}", str(relative)))
    return findings
