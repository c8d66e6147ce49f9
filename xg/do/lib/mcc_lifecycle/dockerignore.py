"""Docker's .dockerignore matching (patterns, ``**``, ``!`` exceptions, last match wins)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


def _regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class DockerIgnore:
    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (is exception, pattern)

    @classmethod
    def from_text(cls, text: str) -> DockerIgnore:
        rules = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            pattern = line.lstrip("!").strip().strip("/")
            pattern = str(PurePosixPath(pattern)) if pattern else "."
            rules.append((exception, _regex(pattern)))
        return cls(tuple(rules))

    @classmethod
    def from_project(cls, project: Path) -> DockerIgnore:
        path = Path(project) / ".dockerignore"
        return cls.from_text(path.read_text() if path.is_file() else "")

    def ignored(self, relative: str) -> bool:
        """Whether ``relative`` (or a directory above it) is excluded from the build context."""
        parts = PurePosixPath(relative).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for exception, pattern in self.rules:
            if any(pattern.match(c) for c in candidates):
                result = not exception
        return result
