"""Errors the CLI reports with exit code 2, each naming the field, the bad value and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_UNSET: Any = object()


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    value: Any = _UNSET
    source: str | None = None

    def __str__(self) -> str:
        shown = "" if self.value is _UNSET else f" = {self.value!r}"
        origin = f" (from {self.source})" if self.source else ""
        return f"{self.field}{shown}{origin}: {self.message}"


def answer_error(answers: Mapping[str, Any], key: str, value: Any, message: str) -> FieldError:
    """A FieldError that says where the answer came from (``answers`` maps keys to Given values)."""
    return FieldError(key, message, value, answers[key].source if key in answers else None)


class MccError(Exception):
    """A user-facing error; nothing has been written when it is raised."""

    exit_code = 2


class InvalidAnswers(MccError):
    def __init__(self, errors: list[FieldError], heading: str = "invalid answers") -> None:
        self.errors = errors
        self.heading = heading
        super().__init__(f"{heading}:\n" + "\n".join(f"  - {e}" for e in errors))
