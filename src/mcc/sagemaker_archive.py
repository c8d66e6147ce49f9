"""A SageMaker model.tar.gz, as the SageMaker Python SDK packs it: the model artifact (at the top or in one folder)
and, optionally, ``code/inference.py`` with its own modules and ``code/requirements.txt``.

SageMaker unpacks the archive into /opt/ml/model; an imported project keeps that layout in ``model/`` and makes
``code/`` its own code. Members are checked before anything is unpacked: absolute paths, ``..``, links and
special files are refused, so an archive cannot write outside the scratch folder it is unpacked into.
"""

from __future__ import annotations

import ast
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .artifacts import SAVED_MODEL_FILES, artifact_error
from .catalog import Catalog
from .errors import MccError
from .requirement_files import read_requirements

SUFFIXES = (".tar.gz", ".tgz")
CODE_DIR = "code"
HOOKS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
RESERVED_CODE = ("serve", "serving.json", "schema.json", "mcc_runtime")  # the project's own code/ entries
MAX_DEPTH = 2  # the artifact at the top, or in one folder


class ArchiveError(MccError):
    """The archive cannot be imported; nothing was written."""

    exit_code = 2


@dataclass(frozen=True)
class SageMakerArchive:
    source: Path  # the model.tar.gz
    root: Path  # where its members were unpacked (a scratch folder, gone once the project is written)
    artifact: Path  # the model artifact found (under root)
    framework: str
    hooks: tuple[str, ...]  # the hooks code/inference.py defines
    requirements: tuple[str, ...]  # code/requirements.txt's lines

    @property
    def model_files(self) -> list[Path]:
        """Every file but code/: what SageMaker puts in /opt/ml/model besides the code."""
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p.relative_to(self.root).parts[0] != CODE_DIR)

    @property
    def code_files(self) -> list[Path]:
        return sorted(p for p in (self.root / CODE_DIR).rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def defined_hooks(path: Path) -> tuple[str, ...]:
    """The hooks an inference.py defines, read from its source (nothing is imported in mcc's process)."""
    if not path.is_file():
        return ()
    try:
        tree = ast.parse(path.read_text(), filename="code/inference.py")
    except SyntaxError as exc:
        raise ArchiveError(f"code/inference.py line {exc.lineno}: {exc.msg}; nothing was written") from None
    return tuple(node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in HOOKS)


def archive_requirements(root: Path) -> tuple[str, ...]:
    path = root / CODE_DIR / "requirements.txt"
    return read_requirements(path.read_text()) if path.is_file() else ()


def is_archive(location: str) -> bool:
    """A model.tar.gz, on this machine or an ``s3://`` URI."""
    return location.lower().endswith(SUFFIXES)


def fetch(location: str, scratch: Path) -> Path:
    """The archive on this machine: ``location`` itself, or its download from S3 (with the AWS credentials and
    endpoint of the environment, as the AWS CLI would use them)."""
    if not location.startswith("s3://"):
        return Path(location)
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ArchiveError(f"{location} is not an s3://bucket/key URI")
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise ArchiveError(f"reading {location} needs boto3: pip install boto3 (or download it yourself)") from None
    target = scratch / "download" / PurePosixPath(key).name
    target.parent.mkdir(parents=True)
    try:
        boto3.client("s3").download_file(bucket, key, str(target))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise ArchiveError(f"cannot download {location}: {exc}; nothing was written") from None
    return target


def unpack(source: Path, scratch: Path, catalog: Catalog, framework: str | None) -> SageMakerArchive:
    """Check every member, unpack into ``scratch``, and find the one model artifact."""
    try:
        with tarfile.open(source, "r:*") as archive:
            members = archive.getmembers()
            problems = [problem for member in members if (problem := member_problem(member))]
            if problems:
                raise ArchiveError(f"{source}: refused, nothing was written: {'; '.join(problems[:5])}")
            archive.extractall(scratch, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{source} is not a readable model.tar.gz ({exc}); nothing was written") from None
    _check_code(source, scratch)
    artifact, found = find_artifact(scratch, catalog, framework)
    hooks = defined_hooks(scratch / CODE_DIR / "inference.py")
    return SageMakerArchive(source, scratch, artifact, found, hooks, archive_requirements(scratch))


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a member may not be unpacked, or None."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        return f"{member.name!r} points outside the archive"
    if member.issym() or member.islnk():
        return f"{member.name!r} is a link"
    if not (member.isfile() or member.isdir()):
        return f"{member.name!r} is not a file or folder"
    return None


def find_artifact(root: Path, catalog: Catalog, framework: str | None) -> tuple[Path, str]:
    """The one file outside code/ that a framework reads: named as one of its formats (SageMaker's extension-less
    xgboost-model included) and passing that format's structural check."""
    files = [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != CODE_DIR]
    candidates = _saved_models(files, root, catalog, framework)
    for path in files:
        if len(path.relative_to(root).parts) > MAX_DEPTH:
            continue
        reader = framework if framework else catalog.framework_for_path(path)
        fmt = catalog.frameworks[reader].format_for_path(path) if reader else None
        if fmt and artifact_error(path, catalog.frameworks[reader].formats[fmt].check) is None:
            candidates.append((path, reader))  # named as the format is, and starts as it does (notes.txt does not)
    listing = ", ".join(sorted(p.relative_to(root).as_posix() for p in files)) or "no files"
    if len(candidates) != 1:
        what = "no model artifact" if not candidates else "several model artifacts"
        formats = sorted({e for f in catalog.frameworks.values() for fmt in f.formats.values() for e in fmt.extensions})
        raise ArchiveError(
            f"model.tar.gz holds {what} mcc can read at its top or in one folder (found: {listing}); "
            f"artifacts are named *{', *'.join(formats)}"
        )
    return candidates[0]


def _saved_models(files: list[Path], root: Path, catalog: Catalog, framework: str | None) -> list[tuple[Path, str]]:
    """SavedModel folders (saved_model.pb with its variables/) at the top, in one folder, or in a version folder
    below one (TensorFlow Serving's model/1/), as SageMaker's TensorFlow containers take them."""
    reader = next((name for name, f in catalog.frameworks.items() for fmt in f.formats.values() if fmt.directory), None)
    if reader is None or framework not in (None, reader):
        return []
    fmt = next(fmt for fmt in catalog.frameworks[reader].formats.values() if fmt.directory)
    folders = {p.parent for p in files if p.name in SAVED_MODEL_FILES and len(p.relative_to(root).parts) <= 3}
    return [(folder, reader) for folder in sorted(folders) if artifact_error(folder, fmt.check) is None]


def reserved_names(folder: Path) -> list[str]:
    """The entries of ``folder`` that would replace the project's own code/ (serve, serving.json, …)."""
    return sorted(name for name in RESERVED_CODE if (folder / name).exists())


def _check_code(source: Path, root: Path) -> None:
    clashes = reserved_names(root / CODE_DIR)
    if clashes:
        raise ArchiveError(f"{source}: code/ holds {', '.join(clashes)}, which the project's own code/ needs")
