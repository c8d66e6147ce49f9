"""Assemble the inference hooks: ``code/inference.py`` where it defines them, defaults elsewhere.

The contract is the one of AWS's SageMaker framework containers (sagemaker-inference-toolkit), so an
``inference.py`` written for them runs unchanged:

- ``model_fn(model_dir)`` gets the model directory as a str;
- ``input_fn(input_data, content_type)`` gets a str for ``text/csv`` and ``application/json`` bodies (UTF-8
  decoded) and bytes for every other type;
- ``transform_fn(model, input_data, content_type, accept)`` may replace input_fn + predict_fn + output_fn
  (defining it with any of those three is an error at start, as in AWS's containers);
- output_fn / transform_fn return bytes, a str, or a ``(body, content_type)`` tuple;
- a missing or ``*/*`` Accept becomes ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default application/json). A
  user's own output_fn or transform_fn gets a single Accept type as sent (without parameters); a list of
  types, and every Accept of the default output_fn, is negotiated against the types that can be written
  (``OUTPUT_CONTENT_TYPES`` in inference.py sets that list for the user's own hooks);
- each hook may take one more argument, the request context (``context.system_properties["model_dir"]``);
- ``BATCHABLE`` (mcc's own): whether rows of several requests may share one predict_fn call (True, False, or a
  function of the model); without it a user's own predict_fn is called once per request;
- the runtime's own input_fn (no input_fn in inference.py, or the generated delegation to it unchanged) lets a
  batch's requests be read one by one and conformed to the model's columns together; a user's own input_fn is
  called once per request.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from . import codecs, defaults
from .settings import Settings

HOOK_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn")
ARITY = {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2, "transform_fn": 4}
TEXT_TYPES = (codecs.JSON, codecs.CSV)  # bodies AWS's containers decode to str before input_fn
USER_MODULE = "inference"


class HookError(ValueError):
    """inference.py defines hooks that cannot be used together, or with the wrong number of arguments."""


@dataclass(frozen=True)
class Hooks:
    model_fn: Callable[[str], Any]
    input_fn: Callable[[bytes | str, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    transform_fn: Callable[[Any, bytes | str, str, str], Any] | None = None
    # Response types to negotiate the Accept header against; None: hand it to the user's hook as sent.
    output_types: tuple[str, ...] | None = codecs.OUTPUT_TYPES
    default_accept: str = codecs.JSON
    user_hooks: tuple[str, ...] = ()  # which hooks inference.py defines
    # Whether predict_fn answers each row independently of the others in its call (so calls may be batched).
    row_independent: Callable[[Any], bool] = lambda model: False
    # The runtime's defaults when input_fn is theirs (or the generated inference.py's unchanged delegation to
    # them): a batch's requests may then be read one by one and conformed to the model's columns together.
    tables: defaults.DefaultHooks | None = None

    @property
    def speaks_protocols(self) -> bool:
        """Whether an answer follows the request's protocol (the Open Inference Protocol's): the runtime's own
        output_fn writes it, or one that declares the defaults' types (``defaults.OUTPUT_CONTENT_TYPES``, as the
        generated inference.py does, delegating to it)."""
        return self.transform_fn is None and self.output_types == codecs.OUTPUT_TYPES

    def request_body(self, body: bytes, content_type: str) -> bytes | str:
        """What input_fn (or transform_fn) receives: a str for CSV and JSON, as AWS's containers hand it."""
        return codecs.utf8_text(body) if content_type in TEXT_TYPES else body

    def response_type(self, accept: str | None) -> str:
        """The accept argument of output_fn / transform_fn: one media type (406 when none can be written)."""
        if not accept or accept.strip() in ("", "*/*", "*"):
            return self.default_accept
        if self.output_types is None and "," not in accept and "*" not in accept:
            return codecs.media_type(accept)  # a user's own output_fn gets the type as sent, as in AWS's containers
        return codecs.negotiate(accept, self.output_types or codecs.OUTPUT_TYPES, default=self.default_accept)


def load_user_module(path: Path) -> ModuleType | None:
    """Import ``inference.py`` from the code directory, or None when there is none."""
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(USER_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[USER_MODULE] = module
    spec.loader.exec_module(module)
    return module


def with_context(name: str, function: Callable, context: object) -> Callable:
    """``function`` called with its hook's arguments, plus ``context`` when it takes one more (as AWS's)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return function  # a builtin or C function: called as it is
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
        return function
    count, expected = len(parameters), ARITY[name]
    if count == expected:
        return function
    if count == expected + 1:
        return lambda *args: function(*args, context)
    raise HookError(
        f"inference.py: {name} takes {count} arguments; it must take {expected} (or {expected + 1}, the last "
        "being the request context)"
    )


GENERATED_INPUT_FN = """from mcc_runtime import defaults


def input_fn(request_body, content_type):
    return defaults.input_fn(request_body, content_type)
"""  # as mcc new writes it in code/inference.py (the import changes how the call compiles)


@functools.cache
def _generated_input_fn_code() -> types.CodeType:
    module = compile(GENERATED_INPUT_FN, "inference.py", "exec", dont_inherit=True)
    return next(const for const in module.co_consts if isinstance(const, types.CodeType))


def is_default_delegate(function: Callable) -> bool:
    """Whether ``function`` is the generated inference.py's input_fn as written: ``return
    defaults.input_fn(request_body, content_type)`` and nothing else (the same bytecode, names and constants,
    ``defaults`` being the runtime's own module). Any edit makes it the user's own input_fn."""
    code, reference = getattr(function, "__code__", None), _generated_input_fn_code()
    if code is None or code.co_freevars:
        return False
    fields = ("co_code", "co_names", "co_varnames", "co_consts")
    same = all(getattr(code, field) == getattr(reference, field) for field in fields)
    return same and getattr(function, "__globals__", {}).get("defaults") is defaults


def declared_batchable(declared: object) -> Callable[[Any], bool]:
    """inference.py's ``BATCHABLE``: True, False, or a function of the model (e.g. ``defaults.row_independent``)."""
    if callable(declared):
        return lambda model: declared(model) is True
    if isinstance(declared, bool):
        return lambda model: declared
    raise HookError(f"inference.py: BATCHABLE is {declared!r}; it must be True, False or a function of the model")


def load_hooks(settings: Settings) -> Hooks:
    default_hooks = defaults.configure(settings)
    user = load_user_module(settings.code_dir / f"{USER_MODULE}.py")
    names = (*HOOK_NAMES, "transform_fn")
    defined = {name: getattr(user, name) for name in names if callable(getattr(user, name, None))}
    also = sorted({"input_fn", "predict_fn", "output_fn"} & set(defined))
    if "transform_fn" in defined and also:
        raise HookError(
            f"inference.py defines transform_fn and {', '.join(also)}: use transform_fn alone, or input_fn / "
            "predict_fn / output_fn without it (as SageMaker's own containers require)"
        )
    context = SimpleNamespace(system_properties={"model_dir": str(settings.model_dir)})
    chosen = {
        name: with_context(name, defined[name], context) if name in defined else getattr(default_hooks, name)
        for name in HOOK_NAMES
    }
    transform = defined.get("transform_fn")
    declared = getattr(user, "OUTPUT_CONTENT_TYPES", None)
    own_output = "output_fn" in defined or transform is not None
    output_types = tuple(declared) if declared else None if own_output else codecs.OUTPUT_TYPES
    if transform:
        row_independent = Hooks.row_independent  # its own reading and writing: calls are never joined
    elif "predict_fn" in defined:
        row_independent = declared_batchable(getattr(user, "BATCHABLE", False))
    else:
        row_independent = default_hooks.row_independent
    own_input = "input_fn" in defined and not is_default_delegate(defined["input_fn"])
    return Hooks(
        **chosen,
        row_independent=row_independent,
        tables=None if transform or own_input else default_hooks,
        transform_fn=with_context("transform_fn", transform, context) if transform else None,
        output_types=output_types,
        default_accept=settings.default_accept,
        user_hooks=tuple(sorted(defined)),
    )
