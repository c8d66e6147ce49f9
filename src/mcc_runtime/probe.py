"""What ``mcc new`` learns about a model, learned in the project's own environment (its pinned closure).

``mcc new`` stages the project's ``code/`` (this runtime, ``serving.json``, the user's own code) and runs this
module with that environment's Python, never with the Python mcc itself runs in::

    python -I -c "import sys; sys.path.insert(0, CODE); from mcc_runtime.probe import main; main()" REQUEST REPORT

REQUEST (JSON): ``code_dir``, ``model_dir``, ``feature_names`` and ``signature`` (declared), ``payload`` (a sample
request file or null) and ``synthesize`` (make a one-row sample from the columns when there is none). REPORT
(JSON), written whatever happens: ``ok``; on success the model's own ``model_schema``, the project's ``schema``,
``payload`` (the sample used, as text, when synthesized), ``expected`` (the JSON answer the project's server gives the
sample), ``example_rows`` and ``numeric_rows``, and the ``versions`` of the libraries that read it; on failure
the ``field`` it concerns and a one-line ``message``. The steps are the server's own: the handler loads the
artifact, the schema sources are reconciled, then the project's hooks start the service and answer the sample.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import sys
import traceback
from pathlib import Path
from typing import Any

LIBRARIES = ("scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "tensorflow-cpu", "keras", "torch", "onnxruntime",
             "numpy", "pandas")  # fmt: skip


class Refusal(Exception):
    """The model, the declared names or the sample cannot make a project that serves; ``field`` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def inspect(request: dict[str, Any]) -> dict[str, Any]:
    """The report of one model (raises Refusal)."""
    from . import schema_sources
    from .defaults import DECLARE_INPUTS, find_model_artifact, find_model_directory
    from .errors import RequestError
    from .handlers import load_handler, model_schema
    from .hooks import load_hooks
    from .schema import SCHEMA_FILE, SchemaError
    from .service import InferenceService
    from .settings import Settings

    code_dir, model_dir = Path(request["code_dir"]), Path(request["model_dir"])
    declared = tuple(request.get("feature_names") or ())
    settings = Settings.load(code_dir, {"MCC_MODEL_DIR": str(model_dir)})
    handler = load_handler(settings.handler)
    handler.load = functools.cache(handler.load)  # the service's model_fn below takes the model loaded here
    user_hooks = _hooks_or_refuse(load_hooks, settings).user_hooks
    try:
        if settings.model_is_directory:
            path = find_model_directory(model_dir, settings.model_filename)
        else:
            path = find_model_artifact(model_dir, settings.model_filename, settings.model_extensions)
    except FileNotFoundError as exc:
        raise Refusal("model_file", str(exc)) from None
    try:
        from_model = model_schema(handler, handler.load(path, settings.model_format))
    except Exception as exc:
        if "model_fn" not in user_hooks:  # the server would load it just so, and fail
            raise Refusal("model_file", f"cannot be loaded with the image's packages: {_problem(exc)}") from None
        from_model = None  # the user's own model_fn loads it: the service below is the check

    from_model = _with_declared_signature(from_model, request.get("signature") or "")
    payload = Path(request["payload"]) if request.get("payload") else None
    body = payload.read_bytes() if payload else None
    media = schema_sources.payload_type(payload) if payload else schema_sources.codecs.CSV
    named_inputs = from_model is not None and from_model.tensors  # the signature is the schema; no columns
    try:
        known = declared or (from_model.names if from_model else ())
        sample = schema_sources.payload_schema(body, media, known) if body is not None and not named_inputs else None
    except RequestError as exc:
        raise Refusal("sample_payload", f"cannot be read: {exc.message}") from None
    try:
        schema = schema_sources.project_schema(from_model, declared, sample)
    except SchemaError as exc:
        raise Refusal("feature_names" if declared and not isinstance(exc, schema_sources.PayloadMismatch)
                      else "sample_payload", str(exc)) from None  # fmt: skip
    reads_rows = not {"input_fn", "transform_fn"} & set(user_hooks) and not named_inputs
    if body is not None and reads_rows:
        try:
            schema_sources.sample_fits(body, media, schema)
        except SchemaError as exc:
            raise Refusal("sample_payload", str(exc)) from None
    synthesized = body is None and bool(request.get("synthesize")) and bool(schema.columns)
    if synthesized:
        body = schema_sources.synthetic_payload(schema)

    if schema.signature is not None and not schema.signature.inputs:
        raise Refusal("signature", f"its forward takes a Dict[str, Tensor] whose keys the file does not record: "
                                   f"{DECLARE_INPUTS}")  # fmt: skip
    (code_dir / SCHEMA_FILE).write_text(schema.to_json())
    settings = Settings.load(code_dir, {"MCC_MODEL_DIR": str(model_dir)})
    service = InferenceService(_hooks_or_refuse(load_hooks, settings), model_dir, settings.max_payload_bytes, 60)
    try:
        service.load()
    except Exception as exc:
        raise Refusal("model_file", f"the server cannot start with it: {_problem(exc)}") from None
    expected = None
    if body is not None:
        reply = service.invoke(body, media, "application/json")
        if reply.status != 200 and not synthesized:
            shown = reply.body.decode(errors="replace")[:300]
            raise Refusal("sample_payload", f"the project's server answers it with HTTP {reply.status}: {shown}")
        expected = reply.body.decode() if reply.status == 200 else None
    numeric_rows = None
    if body is not None and reads_rows and not schema.needs_pandas and expected is not None:
        numeric_rows = schema_sources.codecs.decode(body, media, schema).tolist()
    return {
        "ok": True,
        "model_schema": from_model.to_dict() if from_model else None,
        "model_notes": list(from_model.notes) if from_model else [],
        "schema": schema.to_dict(),
        "needs_pandas": schema.needs_pandas,
        "payload": body.decode() if synthesized else None,
        "expected": expected,
        "example_rows": schema_sources.example_rows(body, media, schema) if body and schema.columns else [],
        "numeric_rows": numeric_rows,
        "user_hooks": list(user_hooks),
        "versions": _versions(),
    }


def _with_declared_signature(from_model: Any, declared: str) -> Any:
    """The model's schema with the signature declared for it (--signature), where the artifact records none."""
    from .schema import InputSchema, SchemaError, reconcile
    from .signature import SignatureError, parse

    if not declared:
        return from_model
    try:
        signature = parse(declared)
    except SignatureError as exc:
        raise Refusal("signature", str(exc)) from None
    if from_model is not None and from_model.signature is not None and from_model.signature.certain:
        shown = "; ".join(spec.shown for spec in from_model.signature.inputs)
        raise Refusal("signature", f"the model records its own signature ({shown}): leave --signature out")
    if from_model is None:
        return InputSchema(signature=signature, source="declared")
    try:
        return reconcile(InputSchema(signature=signature, source="declared"), from_model)
    except SchemaError as exc:
        raise Refusal("signature", str(exc)) from None


def _hooks_or_refuse(load_hooks: Any, settings: Any) -> Any:
    try:
        return load_hooks(settings)
    except Exception as exc:  # the user's inference.py: anything it raises when imported
        raise Refusal("code_dir", f"code/inference.py cannot be used: {_problem(exc)}") from None


def _problem(exc: BaseException) -> str:
    """One line: what failed, with the module or class a model needs where that is the reason."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return (f"it needs the module {exc.name!r}, which nothing the image installs provides (add its package "
                "with --requirements FILE, or your own module with --code-dir DIR)")  # fmt: skip
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        return _problem(cause)
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:400]


def _versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def main(argv: list[str] | None = None) -> None:
    request_path, report_path = (argv or sys.argv[1:])[:2]
    try:
        report = inspect(json.loads(Path(request_path).read_text()))
    except Refusal as exc:
        report = {"ok": False, "field": exc.field, "message": exc.message}
    except Exception as exc:  # a fault of the check itself: reported, with where it happened
        report = {"ok": False, "field": "", "message": _problem(exc), "traceback": traceback.format_exc()}
    Path(report_path).write_text(json.dumps(report))
