"""Strict validation of a custom resource against its CRD's openAPIV3Schema, as the API server with kubectl's
strict field validation does it: unknown fields refused, patterns, enums, required fields and types checked, and
a document of another group, version or kind refused, never skipped."""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_FILE = Path(__file__).resolve().parents[3] / "shared" / "k8s" / "inferenceendpointconfigs.crd.yaml"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


@cache
def crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_FILE.read_text())


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The structural schema with every object that lists its properties closed to others (what pruning and
    strict field validation refuse), ``nullable`` as JSON Schema says it; free-form maps stay open."""
    schema = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                close(item)
            return
        if not isinstance(node, dict):
            return
        listed = "properties" in node and "additionalProperties" not in node
        if listed and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            close(value)

    close(schema)
    return schema


@cache
def _validator(version: str) -> jsonschema.Draft7Validator:
    served = {v["name"]: v for v in crd()["spec"]["versions"]}
    return jsonschema.Draft7Validator(strict(served[version]["schema"]["openAPIV3Schema"]))


def errors(document: dict[str, Any]) -> list[str]:
    """Everything the API server would refuse in ``document``, as ``path: message`` lines (empty: valid)."""
    spec = crd()["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    api_version = document.get("apiVersion", "")
    versions = {v["name"] for v in spec["versions"] if v.get("served")}
    if document.get("kind") != kind or not api_version.startswith(group + "/"):
        return [f"no schema for kind {document.get('kind')!r} in {api_version!r}: this CRD defines {kind} of {group}"]
    version = api_version.removeprefix(group + "/")
    if version not in versions:
        return [f"{group} serves versions {sorted(versions)}, not {version!r}"]
    found = [f"{_path(e)}: {e.message}" for e in _validator(version).iter_errors(document)]
    return found + metadata_errors(document.get("metadata", {}))


def metadata_errors(metadata: dict[str, Any]) -> list[str]:
    """ObjectMeta's rules, which the CRD's schema leaves to the API server (``metadata: {type: object}``)."""
    found = []
    name = metadata.get("name", "")
    if not (name and len(name) <= 253 and DNS_SUBDOMAIN.match(name)):
        found.append(f"metadata.name: {name!r} is not a DNS-1123 subdomain")
    namespace = metadata.get("namespace")
    if namespace is not None and not DNS_LABEL.match(namespace):
        found.append(f"metadata.namespace: {namespace!r} is not a DNS-1123 label")
    for key, value in (metadata.get("labels") or {}).items():
        prefix, _, label = key.rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.match(prefix)) or not LABEL_NAME.match(label) or len(label) > 63:
            found.append(f"metadata.labels: {key!r} is not a label key")
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            found.append(f"metadata.labels.{key}: {value!r} is not a label value")
    unknown = set(metadata) - {"name", "namespace", "labels", "annotations", "generateName"}
    found += [f"metadata: unknown field {field!r}" for field in sorted(unknown)]
    return found


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(root)"
