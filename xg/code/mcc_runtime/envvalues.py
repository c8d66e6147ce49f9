"""Settings given as text (environment variables, MCC_<OPTION> overrides): one parser per kind of value, each
refusing what it cannot read instead of guessing. Standard library only (the LLM launcher uses it too)."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class ValueProblem(ValueError):
    """A setting whose text is not a value of its kind (callers pass their own subclass as ``error``)."""


def flag(name: str, raw: Any, default: bool = False, error: type[ValueProblem] = ValueProblem) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); unset or empty is ``default``; anything else is refused."""
    if isinstance(raw, bool):
        return raw
    word = "" if raw is None else str(raw).strip().lower()
    if not word:
        return default
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise error(f"{name}={raw!r} must be one of 1/0, true/false, yes/no, on/off")


def whole_number(name: str, raw: Any, default: int, minimum: int = 1, error: type[ValueProblem] = ValueProblem) -> int:
    """An integer of at least ``minimum``; unset or empty is ``default``."""
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise error(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise error(f"{name}={raw!r} must be at least {minimum}")
    return value


def choice(
    name: str, raw: Any, default: str, allowed: tuple[str, ...], error: type[ValueProblem] = ValueProblem
) -> str:
    """One of ``allowed`` (case-insensitive); unset or empty is ``default``."""
    value = (str(raw).strip().lower() if raw is not None else "") or default
    if value not in allowed:
        raise error(f"{name}={value!r} must be one of {', '.join(allowed)}")
    return value
