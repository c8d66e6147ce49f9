"""Rules shared by spec validation and interactive prompts: each returns an error message or None."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path

from mcc_lifecycle import hyperpod_manifest, rules
from mcc_runtime.llm.launch import parse_engine_arg

from .catalog import Catalog
from .sizing import parse_params


def suggest(value: str, choices: Iterable[str], limit: int = 3) -> str:
    """``; did you mean 'x'?`` for the closest choices, or an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=limit, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def file_not_found(value: str | Path) -> str:
    """The words "file not found", with the absolute path looked for where the value given is not already that path."""
    where = Path(value).expanduser().resolve()
    return "file not found" + ("" if str(where) == str(value) else f" (looked for {where})")


def project_name_error(name: str) -> str | None:
    """SageMaker's name rule, short enough that versioned names (NAME-YYYYmmdd-HHMMSS) still fit."""
    longest = rules.SAGEMAKER_NAME_MAX - rules.NAME_SUFFIX_LEN
    if len(name) > longest:
        return (
            f"is {len(name)} characters; at most {longest}, so that versioned model names "
            f"(NAME-YYYYmmdd-HHMMSS) fit SageMaker's {rules.SAGEMAKER_NAME_MAX}"
        )
    return rules.sagemaker_name_error(name)


def deploy_mode_error(mode: str) -> str | None:
    return rules.deploy_mode_error(mode)


def hyperpod_cluster_error(name: str) -> str | None:
    if hyperpod_manifest.HYPERPOD_CLUSTER.match(name):
        return None
    return "is not a HyperPod cluster name (1-63 letters, digits and hyphens, starting and ending with one)"


def k8s_namespace_error(name: str) -> str | None:
    if hyperpod_manifest.DNS_LABEL.match(name):
        return None
    return "is not a Kubernetes namespace (1-63 lower-case letters, digits and hyphens, starting and ending with one)"


def role_arn_error(arn: str) -> str | None:
    """Empty is allowed: the role can be set later in do/config."""
    return rules.role_arn_error(arn) if arn else None


def choice_error(value: str, choices: Iterable[str], what: str, listing: str | None = None) -> str | None:
    """Membership check with a suggestion; ``listing`` replaces the full list when it is long."""
    options = sorted(choices)
    if value in options:
        return None
    allowed = listing or ("allowed: " + ", ".join(options))
    return f"is not a {what}{suggest(value, options)} ({allowed})"


def region_error(region: str, catalog: Catalog) -> str | None:
    return choice_error(region, catalog.regions, "SageMaker region", "run `mcc catalog regions` for the list")


def instance_type_error(instance_type: str, catalog: Catalog) -> str | None:
    """A SageMaker hosting instance type (botocore's list) that mcc can size: the catalog's, or a CPU type whose
    vCPUs and memory its name tells (a warning says so)."""
    from .catalog import ACCELERATED_FAMILY, hosting_instance_types

    if catalog.instance(instance_type) is not None:
        return None
    known = hosting_instance_types()
    if instance_type not in known:
        listing = "run `mcc catalog instances` for the ones mcc has data for"
        return choice_error(instance_type, known, "SageMaker hosting instance type", listing)
    family = instance_type.rpartition(".")[0]
    if INFERENTIA1_FAMILY.match(family):
        return (
            f"is an AWS Inferentia1 type ({family}): it runs only models compiled with torch-neuron (Neuron SDK 2.26 "
            "and older), not the engines mcc generates; choose Inferentia2 (ml.inf2.*) or Trainium (ml.trn1.*) for "
            "an LLM (--engine vllm-neuron), or a CPU type for a predictive model"
        )
    if ACCELERATED_FAMILY.match(family):
        families = ", ".join(sorted({f"{t.family}.*" for t in catalog.instance_types.values() if t.gpus}))
        return f"mcc has no data yet for {family}'s accelerators (count, memory) to size and start it; " \
            f"the catalog's: {families}"  # fmt: skip
    return "mcc cannot tell its vCPUs and memory from its name (run `mcc catalog instances` for the listed ones)"


INFERENTIA1_FAMILY = re.compile(r"^ml\.inf1$")
ENGINE_ARG_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def split_engine_args(value: object) -> object:
    """``--engine-arg`` values: a list as given; one string (an environment variable) holds one per line."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(line.strip() for line in value.splitlines() if line.strip())
    return value


def checked_engine_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """KEY=VALUE or KEY (a switch), each key once; leading dashes are dropped (``--foo`` is ``foo``)."""
    seen: set[str] = set()
    checked = []
    for arg in args:
        key, value = parse_engine_arg(arg)
        if not ENGINE_ARG_KEY.fullmatch(key):
            raise ValueError(f"{arg!r} is not KEY=VALUE or KEY (a key is letters, digits, '-', '_' or '.')")
        if key.replace("-", "_").lower() in seen:
            raise ValueError(f"{key} is given twice")
        seen.add(key.replace("-", "_").lower())
        checked.append(key if value is None else f"{key}={value}")
    return tuple(checked)


def split_names(value: object) -> object:
    """``"a, b,c"`` -> ``("a", "b", "c")``; lists pass through; empty -> ``()``."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",")) if value.strip() else ()
    return value


def checked_feature_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Names a CSV header can carry: non-empty, unique, not numbers, no commas, quotes or line breaks."""
    for name in names:
        if not name or any(c in name for c in ',"\r\n') or name != name.strip():
            raise ValueError(f"feature name {name!r} must be non-empty text without commas, quotes or line breaks")
        try:
            float(name)
        except ValueError:
            continue
        raise ValueError(f"feature name {name!r} looks like a number, so a header row could not be told from data")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"feature names repeat: {', '.join(repeated)}")
    return names


HF_MODEL_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")


def model_id_error(model_id: str) -> str | None:
    """A Hugging Face Hub id: NAME or ORG/NAME (letters, digits, '.', '_', '-')."""
    if HF_MODEL_ID.match(model_id) and ".." not in model_id and not model_id.endswith((".", "-")):
        return None
    return "is not a Hugging Face Hub model id (ORG/NAME: letters, digits, '.', '_' and '-')"


def s3_prefix_error(uri: str) -> str | None:
    return None if S3_PREFIX.match(uri) else "is not an S3 prefix (s3://BUCKET/PREFIX/)"


def model_data_error(uri: str) -> str | None:
    """Empty (the model is baked into the image), or a model.tar.gz in S3."""
    if not uri or (S3_PREFIX.match(uri) and uri.endswith(".tar.gz") and "/" in uri.removeprefix("s3://")):
        return None
    return "is not a model.tar.gz in S3 (s3://BUCKET/KEY.tar.gz)"


def secret_arn_error(arn: str) -> str | None:
    """Empty is allowed: the token then comes from HF_TOKEN in the container's environment, if needed."""
    return rules.secret_arn_error(arn)


def params_or_none(value: object) -> float | None:
    """``--model-params 7B`` -> 7.0 (billions); empty -> None."""
    if value is None or value == "":
        return None
    return parse_params(value)


IMAGE_REFERENCE = re.compile(
    r"^(?:[a-z0-9][a-z0-9.-]*(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def base_image_error(image: str) -> str | None:
    """An image reference pinned to a version tag (with a digit, not 'latest') or a digest."""
    match = IMAGE_REFERENCE.match(image)
    if not match:
        return "is not an image reference (registry/name:tag or name@sha256:...)"
    tag = match.group("tag") or ""
    if not match.group("digest") and (tag == "latest" or not any(c.isdigit() for c in tag)):
        return "is not pinned to a version tag or digest (a moving tag changes the image under the project)"
    return None


def gguf_file_error(path: Path) -> str | None:
    """A local GGUF model: a file llama.cpp can read."""
    from .gguf_metadata import GgufError, read_gguf_once

    if not path.is_file():
        return "is not a file (give a local .gguf file, or --model-id / --model-s3-uri with the file's name there)"
    try:
        read_gguf_once(path)
    except (GgufError, OSError) as error:
        return str(error)
    return None


def signature_error(text: str) -> str | None:
    """``name: dtype[sizes]; ...`` (mcc_runtime.signature.parse), or why not."""
    from mcc_runtime.signature import SignatureError, parse

    if not text.strip():
        return None
    try:
        parse(text)
    except SignatureError as exc:
        return str(exc)
    return None
