"""Requirement lines: their package names, and the user's own requirements merged into a pinned closure."""

from __future__ import annotations

import re

from .errors import MccError


class RequirementsError(MccError):
    """Requirements that cannot join the pinned closure; nothing was written."""

    exit_code = 2


def requirement_name(line: str) -> str:
    """``scikit_learn>=1.2`` -> ``scikit-learn``."""
    return re.split(r"[<>=!~;\[ @]", line, maxsplit=1)[0].strip().lower().replace("_", "-")


def read_requirements(text: str) -> tuple[str, ...]:
    """The requirement lines of a requirements.txt, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def merge_requirements(pinned: list[str], extra: tuple[str, ...], source: str) -> list[str]:
    """``pinned`` plus the user's own requirements (``extra``, from ``source``): a package the closure pins
    keeps its pin when the added line admits it (a conflict is refused, naming both); others are added as written."""
    from packaging.requirements import InvalidRequirement, Requirement

    versions = {}
    for line in pinned:
        name, _, version = line.partition("==")
        versions[requirement_name(name)] = version.split("+", 1)[0].strip()
    merged, problems = list(pinned), []
    for line in extra:
        if line.startswith("-"):
            problems.append(f"{line!r}: pip options are not taken from {source}; set BUILD_INDEX_URL in do/config")
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            problems.append(f"{line!r} is not a requirement ({exc})")
            continue
        name = requirement_name(requirement.name)
        if name not in versions:
            merged.append(line)
        elif versions[name] and not requirement.specifier.contains(versions[name], prereleases=True):
            problems.append(f"{line!r} conflicts with the image's {name}=={versions[name]}")
    if problems:
        raise RequirementsError(f"{source} cannot be merged into the pinned requirements: {'; '.join(problems)}")
    return merged
