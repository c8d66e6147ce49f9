"""The default inference hooks, used for every hook ``code/inference.py`` does not define.

``inference.py`` may call these module-level functions to delegate to the defaults, e.g.::

    from mcc_runtime import defaults

    def input_fn(request_body, content_type):
        rows = defaults.input_fn(request_body, content_type)
        return rows * 2.0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import codecs, tabular, tensors
from .errors import BadRequest
from .handlers import class_labels, load_handler, model_schema
from .schema import SCHEMA_FILE, InputSchema, SchemaError, reconcile
from .settings import Settings

OUTPUT_CONTENT_TYPES = codecs.OUTPUT_TYPES  # what output_fn below writes (inference.py declares it to negotiate)
DECLARE_INPUTS = ("declare its inputs: mcc new --signature 'name: float32[?, 4]; other: int64[?]' (or the signature "
                  "in code/schema.json)")  # fmt: skip


class DefaultHooks:
    """model_fn / input_fn / predict_fn / output_fn for the project's framework handler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.handler = load_handler(settings.handler)
        self.schema = InputSchema.read(settings.code_dir / SCHEMA_FILE)  # the model's own, once it is loaded
        self.input_types = codecs.INPUT_TYPES + settings.input_types
        self.classes: list | None = None  # the model's own class labels, where it records them

    def model_fn(self, model_dir: str) -> Any:
        settings = self.settings
        if settings.model_is_directory:
            path = find_model_directory(Path(model_dir), settings.model_filename)
        else:
            path = find_model_artifact(Path(model_dir), settings.model_filename, settings.model_extensions)
        try:
            model = self.handler.load(path, settings.model_format)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
            raise ValueError(f"{path} is not a loadable {settings.model_format} model ({problem})") from exc
        from_model = model_schema(self.handler, model)
        named_inputs = from_model is not None and from_model.tensors  # answered with its named outputs
        if settings.predict_output != "label" and not named_inputs and not self.handler.has_proba(model):
            raise ValueError(
                f"predict_output={settings.predict_output} needs class probabilities, "
                f"but the model in {path} gives none (it is not a probabilistic classifier); serve labels with "
                "MCC_PREDICT_OUTPUT=label (or mcc new --predict-output label)"
            )
        self.schema = checked_schema(self.schema, from_model, path)
        if self.schema.signature is not None and not self.schema.signature.inputs:
            raise ValueError(f"{path}: its forward takes a Dict[str, Tensor] whose keys the file does not record: "
                             f"{DECLARE_INPUTS}")  # fmt: skip
        self.classes = class_labels(model)
        return model

    def input_fn(self, request_body: bytes, content_type: str) -> Any:
        """Rows in the model's column order: a float array, or a DataFrame where the model takes one; for a model
        of several named inputs, one array per input (``tensors.NamedInputs``, a dict)."""
        if self.schema.tensors:
            return tensors.decode(request_body, content_type, self.schema.signature)
        return codecs.decode(request_body, content_type, self.schema, self.input_types)

    @property
    def reads_tables(self) -> bool:
        """Whether input_fn is :meth:`parse` then :meth:`conform` (not for a model of named inputs)."""
        return not self.schema.tensors

    def parse(self, request_body: bytes | str, content_type: str) -> Any:
        """input_fn's first half: the body read, not yet conformed to the model's columns."""
        return codecs.parse(request_body, content_type, self.schema, self.input_types)

    def conform(self, parsed: Any) -> Any:
        """input_fn's second half, for one request."""
        return tabular.conform(parsed, self.schema)

    def conform_together(self, parsed: list[Any]) -> tuple[Any, list[int]] | None:
        """input_fn's second half for several requests at once (see :func:`tabular.conform_together`)."""
        return tabular.conform_together(parsed, self.schema)

    def predict_fn(self, data: Any, model: Any) -> Any:
        """Labels (or values) as an array; with probabilities, named columns. A refusal of missing values
        names where they are."""
        try:
            return self._predict(data, model)
        except BadRequest as exc:
            where = tabular.missing_cells(data)
            if where and "nan" in exc.message.lower():
                shown = "; ".join(where)
                raise BadRequest(f"missing values at {shown}, which this model cannot take ({exc.message})") from None
            raise

    def _predict(self, data: Any, model: Any) -> Any:
        output, handler = self.settings.predict_output, self.handler
        if isinstance(data, dict) and self.schema.tensors:  # named inputs: the model's named outputs
            return tensors.NamedOutputs(handler.run(model, data), getattr(data, "protocol", tensors.ROWS))
        if output == "label":
            return handler.predict(model, data)
        columns = {}
        if output == "both":
            columns["predictions"] = getattr(handler, "predict_label", handler.predict)(model, data)
        columns["probabilities"] = handler.predict_proba(model, data)
        return columns

    def row_independent(self, model: Any) -> bool:
        """Whether the framework predicts each row on its own, so rows of several requests (or, for a model of
        named inputs, each input's rows) may share one call."""
        answer = getattr(self.handler, "row_independent", None)
        return bool(answer and answer(model))

    def output_fn(self, prediction: Any, accept: str) -> bytes:
        """The answer as ``accept``; in a batch transform job JSON is written as JSON Lines (one line per record,
        as SageMaker's built-in XGBoost container does), so AssembleWith=Line keeps one output line per input."""
        if isinstance(prediction, tensors.NamedOutputs):
            return tensors.encode(prediction, accept)
        if self.settings.batch and accept == codecs.JSON:
            return codecs.encode(prediction, codecs.JSONLINES)
        bare = self.settings.json_response == "array"
        if accept == codecs.JSON and not bare and isinstance(prediction, dict) and "probabilities" in prediction:
            prediction = with_classes(prediction, self.classes)
        return codecs.encode(prediction, accept, bare_json=bare)


def with_classes(columns: dict[str, Any], known: list | None) -> dict[str, Any]:
    """A JSON object answer with ``"classes"``: whom each probability column belongs to, in order — the model's
    own labels, or the column indices (what a booster's or network's predictions are) where it records none.
    Left out where probabilities are not one row of classes per input row (multi-output classifiers)."""
    rows = np.asarray(columns["probabilities"])
    if rows.ndim != 2 or rows.dtype == object:
        return columns
    width = rows.shape[1]
    classes = known if known is not None and len(known) == width else list(range(width))
    return {**columns, "classes": classes}


def checked_schema(recorded: InputSchema, from_model: InputSchema | None, path: Path) -> InputSchema:
    """The schema to serve with; a project whose columns are not the model's own refuses to start."""
    try:
        schema = reconcile(recorded, from_model)
    except SchemaError as exc:
        raise ValueError(f"{SCHEMA_FILE} does not match the model in {path}: {exc}") from None
    if schema.needs_pandas:
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise ValueError(
                f"the model in {path} takes a pandas DataFrame ({', '.join(schema.names)}), "
                "but pandas is not installed; add it to requirements.txt"
            ) from None
    return schema


def find_model_artifact(model_dir: Path, filename: str | None, extensions: tuple[str, ...]) -> Path:
    """The named artifact if present, else the only file with a known ending at the top of ``model_dir`` or in one
    folder below it (a model.tar.gz packed from a folder unpacks that way); the error lists what is there."""
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model directory {model_dir} does not exist (set MCC_MODEL_DIR)")
    if filename and (model_dir / filename).exists():
        return model_dir / filename
    candidates = [*model_dir.glob("*"), *model_dir.glob("*/*")]
    files = sorted(p.relative_to(model_dir).as_posix() for p in candidates if p.is_file())
    files = [name for name in files if not name.startswith("code/")]  # an SDK archive's code, not the model
    found = [name for name in files if name.lower().endswith(extensions)]
    if len(found) == 1:
        return model_dir / found[0]
    wanted = filename or " or ".join(f"*{e}" for e in extensions)
    if not found:
        listing = ", ".join(files[:20]) or "nothing"
        raise FileNotFoundError(f"no model artifact {wanted} in {model_dir} (found: {listing})")
    raise FileNotFoundError(f"{model_dir} holds several model artifacts ({', '.join(found)}); expected {wanted}")


def find_model_directory(model_dir: Path, dirname: str | None) -> Path:
    """A directory-format model (e.g. a SavedModel): ``model_dir/dirname``, or ``model_dir`` itself
    when the model's files were unpacked straight into it (a SageMaker model.tar.gz)."""
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model directory {model_dir} does not exist (set MCC_MODEL_DIR)")
    if dirname and (model_dir / dirname).is_dir():
        return model_dir / dirname
    return model_dir


_active: DefaultHooks | None = None


def configure(settings: Settings) -> DefaultHooks:
    """Make ``settings`` the configuration behind the module-level default hooks."""
    global _active
    _active = DefaultHooks(settings)
    return _active


def _hooks() -> DefaultHooks:
    return _active if _active is not None else configure(Settings.load())


def model_fn(model_dir: str) -> Any:
    return _hooks().model_fn(model_dir)


def input_fn(request_body: bytes, content_type: str) -> Any:
    return _hooks().input_fn(request_body, content_type)


def predict_fn(data: Any, model: Any) -> Any:
    return _hooks().predict_fn(data, model)


def output_fn(prediction: Any, accept: str) -> bytes:
    return _hooks().output_fn(prediction, accept)


def row_independent(model: Any) -> bool:
    return _hooks().row_independent(model)
