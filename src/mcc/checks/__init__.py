"""Static checks of a generated project, usable without Docker: `mcc check PROJECT_DIR`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NOT_RUN = "not run"  # a Finding's severity when the check's tool is missing


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    path: str = ""
    severity: str = "error"  # or "warning", or NOT_RUN

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"[{self.severity}] {self.check}: {where}{self.message}"


def check_project(project: Path, require_linters: bool = False) -> list[Finding]:
    """Every check on one project: Dockerfile structure and hadolint, shellcheck, secrets."""
    from .dockerfile import check_dockerfile
    from .linters import hadolint, shellcheck
    from .secrets import scan_secrets

    project = Path(project)
    findings = check_dockerfile(project)
    findings += hadolint(project / "Dockerfile", required=require_linters)
    findings += shellcheck(sorted(p for p in (project / "do").glob("*") if p.is_file()), required=require_linters)
    findings += scan_secrets(project)
    return findings
