"""The model check of ``mcc new``: the model loaded, its columns read and the sample answered by the project's
own code in the image's environment (``model_env``), never in the Python mcc runs in.

The project's ``code/`` is staged in a scratch folder (the runtime, ``serving.json``, the user's own code) and
``mcc_runtime.probe`` runs there with the environment's Python in isolated mode. Reports are cached by the
hash of everything they depend on (the closure, the runtime, the artifact's bytes, the sample, the code, the
settings), so generating the same model again costs no model load.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mcc_runtime.schema import InputSchema

from . import model_env
from .errors import MccError

PROBE_TIMEOUT_S = 900
LAUNCH = "import sys; sys.path.insert(0, sys.argv[1]); from mcc_runtime.probe import main; main(sys.argv[2:])"
RUNTIME = Path(__file__).resolve().parent.parent / "mcc_runtime"
Progress = Callable[[str], None]
# What the check's environment holds for DataFrame models (the runtime's dataframe requirements): user code that
# imports one of these needs them installed in the image too, whatever the model takes.
DATAFRAME_MODULES = frozenset({"pandas", "dateutil"})


class ModelRefused(MccError):
    """The model check refused the project; ``field`` names the answer it concerns (nothing was written)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CheckRequest:
    """One model check: the environment, the project's settings and code, the model and the sample."""

    closure: model_env.Closure
    serving: str  # code/serving.json's text
    model_dir: Path  # what the server gets as /opt/ml/model
    model_paths: tuple[Path, ...]  # the artifact's files (their bytes are part of the cache key)
    code_files: tuple[tuple[str, Path], ...] = ()  # (path under code/, source): the user's own code
    feature_names: tuple[str, ...] = ()
    signature: str = ""  # declared (--signature), for a model that records only its inputs' names
    payload: Path | None = None
    synthesize: bool = True  # a model that records its columns but came without a sample gets a one-row one


@dataclass(frozen=True)
class ModelReport:
    """What the check learned; ``checked`` is False when it was skipped (--no-model-check)."""

    schema: InputSchema
    needs_pandas: bool
    checked: bool = True
    expected: bytes | None = None  # the project's JSON answer to the sample
    payload: bytes | None = None  # the sample made from the columns, where none was given
    example_rows: tuple[tuple[Any, ...], ...] = ()
    numeric_rows: tuple[tuple[float, ...], ...] | None = None
    versions: tuple[tuple[str, str], ...] = ()
    user_hooks: tuple[str, ...] = ()
    made_environment_s: float | None = None  # seconds spent making the environment (None: it was cached)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def summary(self, python_version: str) -> str:
        """One line for the user: what was checked, where."""
        if not self.checked:
            return ""
        libraries = ", ".join(f"{name} {version}" for name, version in self.versions)
        columns = (f"{len(self.schema.columns)} columns read" if self.schema.columns else
                   f"{self.schema.width} features per row" if self.schema.width else "no columns recorded")  # fmt: skip
        answered = "the sample's answer recorded in samples/expected.json" if self.expected else "no sample to answer"
        made = f"; environment made in {self.made_environment_s:.1f} s" if self.made_environment_s is not None else ""
        where = f"the image's environment (Python {python_version}, {libraries})"
        return f"model checked in {where}: {columns}, {answered}{made}"


def check(request: CheckRequest, progress: Progress | None = None) -> ModelReport:
    """The report for ``request`` (ModelRefused, or ModelEnvError when the environment cannot be made)."""
    progress = progress or (lambda message: None)
    key = request_key(request)
    cached = _cached_report(key)
    if cached is not None:
        return _with_code_imports(cached, request.code_files)
    made = None
    python = model_env.cached_python(request.closure)
    if python is None:
        progress(f"Installing the image's {len(request.closure.requirements)} pinned packages for the model check "
                 f"(once for this closure; cached in {model_env.cache_root()})…")  # fmt: skip
        started = time.monotonic()
        python = model_env.environment(request.closure)
        made = time.monotonic() - started
    progress("Checking the model in the image's environment (load, columns, the sample's answer)…")
    raw = _run_probe(python, request)
    if not raw.get("ok"):
        raise ModelRefused(raw.get("field") or "model_file", raw.get("message") or "the model check failed")
    report = _report(raw, made)
    _store(key, raw)
    return _with_code_imports(report, request.code_files)


def imported_modules(code_files: tuple[tuple[str, Path], ...]) -> set[str]:
    """The top-level modules the user's own Python files import, read from their source (never imported here;
    a file that does not parse is left to the check, which imports it)."""
    found: set[str] = set()
    for _, source in code_files:
        if source.suffix != ".py":
            continue
        try:
            tree = ast.parse(source.read_bytes(), filename=str(source))
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _with_code_imports(report: ModelReport, code_files: tuple[tuple[str, Path], ...]) -> ModelReport:
    """pandas in the image where the user's code imports it (the check's environment always has it)."""
    if report.needs_pandas or not DATAFRAME_MODULES & imported_modules(code_files):
        return report
    return replace(report, needs_pandas=True)


def request_key(request: CheckRequest) -> str:
    """A hash of everything the report depends on."""
    digest = hashlib.sha256()
    for part in (model_env.LAYOUT, request.closure.key, _runtime_hash(), request.serving,
                 json.dumps(request.feature_names), request.signature, str(request.synthesize)):  # fmt: skip
        digest.update(part.encode() + b"\0")
    model_root = request.model_dir.resolve()
    for path in request.model_paths:
        digest.update(_relative(path, model_root).encode() + b"\0" + _file_hash(path).encode())
    for relative, source in request.code_files:
        digest.update(relative.encode() + b"\0" + _file_hash(source).encode())
    if request.payload:
        digest.update(request.payload.suffix.lower().encode() + b"\0" + _file_hash(request.payload).encode())
    return digest.hexdigest()[:32]


def _run_probe(python: Path, request: CheckRequest) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mcc-check-") as scratch:
        code = Path(scratch) / "code"
        shutil.copytree(RUNTIME, code / "mcc_runtime", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for relative, source in request.code_files:
            (code / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, code / relative)
        (code / "serving.json").write_text(request.serving)
        request_file, report_file = Path(scratch) / "request.json", Path(scratch) / "report.json"
        request_file.write_text(json.dumps({
            "code_dir": str(code),
            "model_dir": str(request.model_dir.resolve()),
            "feature_names": list(request.feature_names),
            "signature": request.signature,
            "payload": str(request.payload.resolve()) if request.payload else None,
            "synthesize": request.synthesize,
        }))  # fmt: skip
        command = [str(python), "-I", "-c", LAUNCH, str(code), str(request_file), str(report_file)]
        try:
            done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"ok": False, "field": "model_file",
                    "message": f"loading it and answering the sample took over {PROBE_TIMEOUT_S} s"}  # fmt: skip
        if not report_file.is_file():  # the interpreter itself died (a crash in a native library, say)
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            return {"ok": False, "field": "model_file",
                    "message": f"the image's Python stopped while loading it: {last[0][:400]}"}  # fmt: skip
        return json.loads(report_file.read_text())


def _report(raw: dict[str, Any], made: float | None) -> ModelReport:
    numeric = raw.get("numeric_rows")
    return ModelReport(
        schema=InputSchema.from_dict(raw["schema"]),
        needs_pandas=bool(raw["needs_pandas"]),
        expected=raw["expected"].encode() if raw.get("expected") is not None else None,
        payload=raw["payload"].encode() if raw.get("payload") is not None else None,
        example_rows=tuple(tuple(row) for row in raw.get("example_rows") or ()),
        numeric_rows=tuple(tuple(row) for row in numeric) if numeric is not None else None,
        versions=tuple(sorted((raw.get("versions") or {}).items())),
        user_hooks=tuple(raw.get("user_hooks") or ()),
        made_environment_s=made,
        notes=tuple(raw.get("model_notes") or ()),
    )


def _cached_report(key: str) -> ModelReport | None:
    path = model_env.cache_root() / "checks" / f"{key}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        return _report(json.loads(path.read_text()), None)
    return None


def _store(key: str, raw: dict[str, Any]) -> None:
    directory = model_env.cache_root() / "checks"
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the next run a check
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f"{key}.json.partial"
        partial.write_text(json.dumps(raw))
        partial.replace(directory / f"{key}.json")


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _runtime_hash() -> str:
    """The runtime's files: a new mcc's runtime checks again."""
    digest = hashlib.sha256()
    for path in sorted(p for p in RUNTIME.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(RUNTIME).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.name
