"""What each answer is for, allows and defaults to: ``mcc new --help`` grouped by the three decisions, and
``mcc schema``'s descriptions. One source: the answers' help (answers.py), the catalog and the spec's types."""

from __future__ import annotations

import re
from typing import Any

from mcc_lifecycle.settings import DEPLOY_MODES

from .answers import ANSWERS, Answer
from .catalog import Catalog
from .defaults import default_for
from .spec import ProjectSpec, field_choices

PROJECT, MODEL, SERVING, DEPLOYMENT, LLM = (
    "Project",
    "1. Model selection",
    "2. Model serving",
    "3. Model deployment",
    "LLM options (generative frameworks only)",
)
GROUPS = (PROJECT, MODEL, SERVING, DEPLOYMENT, LLM)
SECTIONS = {"model": MODEL, "serving": SERVING, "deployment": DEPLOYMENT, "generation": LLM}

DERIVED_DEFAULTS = {  # defaults that follow from other answers, said in words
    "framework": "what the model file is, else sklearn",
    "model_format": "from the file's extension",
    "framework_version": "the version the model file records, else the catalog's",
    "instance_type": "{default} (LLMs: the cheapest instance that holds the model)",
    "region": "$AWS_REGION, else {default}",
}
LISTED_ELSEWHERE = {"instance_type": "mcc catalog instances", "region": "mcc catalog regions"}

EXAMPLES = """\
  # the decision tree, in a terminal (Ctrl-C keeps your answers; run it again to resume)
  mcc new
  # a model file, nothing asked
  mcc new -y --project-name churn --model-file model.joblib --sample-payload rows.csv
  # a sample model, to try mcc end to end
  mcc new -y --project-name demo --sample-model --framework xgboost
  # an LLM on vLLM; a gated model's Hugging Face token from Secrets Manager
  mcc new -y --project-name chat --framework transformers --model-id meta-llama/Llama-3.1-8B-Instruct \\
      --engine vllm --hf-token-secret-arn arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token
  # regenerate a project from its answers
  cd churn && mcc new --config mcc.yaml --force --yes
"""


def group(answer: Answer) -> str:
    return SECTIONS.get(answer.path[0], PROJECT) if len(answer.path) > 1 else PROJECT


def choices(answer: Answer, catalog: Catalog) -> tuple[str, ...]:
    """The values the answer allows, where they are a list (the catalog's names, or the spec's fixed values)."""
    listed = {
        "framework": lambda: tuple(catalog.framework_names),
        "engine": lambda: tuple(catalog.engines),
        "web_server": lambda: tuple(catalog.servers),
        "model_format": lambda: tuple(sorted({f for fw in catalog.frameworks.values() for f in fw.formats})),
        "deploy_mode": lambda: DEPLOY_MODES,
        "task": lambda: tuple(sorted({t for e in catalog.engines.values() for t in e.tasks})),
    }
    found = listed.get(answer.key)
    return found() if found else field_choices(answer.path)


STATED_DEFAULT = re.compile(r"\s*\[(?:default: )?([^\]]+)\]$")  # "... [default: the engine's]", "... [0.9]"


def default(answer: Answer, catalog: Catalog) -> str | None:
    """The default, as shown in help: where the help states it, that; else the one mcc fills in (None: none)."""
    stated = STATED_DEFAULT.search(answer.help)
    if stated:
        return stated.group(1)
    values = {"framework": next(iter(catalog.generative))} if answer.project_kind == "generative" else {}
    value = default_for(answer.key, values, catalog, {})
    shown = "yes" if value is True else "no" if value is False else None if value in (None, (), "") else str(value)
    if answer.key in DERIVED_DEFAULTS:
        return DERIVED_DEFAULTS[answer.key].format(default=shown)
    return shown


def plain_help(answer: Answer) -> str:
    """The answer's help without its "Generative:" prefix (its group says so) and its stated default."""
    text = STATED_DEFAULT.sub("", answer.help)
    bare = re.sub(r"^Generative: ", "", text)
    if bare != text:
        return bare[:1].upper() + bare[1:]
    return re.sub(r"^Generative \(([^)]*)\): ", r"(\1) ", text)


def option_help(answer: Answer, catalog: Catalog) -> str:
    """One option's help: what it is, its choices, its default, its variable."""
    parts = [plain_help(answer)]
    allowed = choices(answer, catalog)
    if allowed:
        parts.append(f"[{' | '.join(allowed)}]")
    elif answer.key in LISTED_ELSEWHERE:
        parts.append(f"(see {LISTED_ELSEWHERE[answer.key]})")
    shown = default(answer, catalog)
    if shown:
        parts.append(f"[default: {shown}]")
    parts.append(f"(env {answer.env})")
    return " ".join(parts)


def documented_schema(catalog: Catalog) -> dict[str, Any]:
    """mcc.yaml's JSON Schema, each answer's property with its description, flag, variable, allowed values and
    default."""
    schema = ProjectSpec.model_json_schema()
    for answer in ANSWERS:
        node = schema_property(schema, answer.path)
        if node is None:
            continue
        shown = default(answer, catalog)
        node["description"] = (f"{plain_help(answer)} (flag {answer.flag}, env {answer.env}"
                               + (f"; default: {shown}" if shown else "") + ")")  # fmt: skip
        allowed = choices(answer, catalog)
        if allowed:
            node["enum"] = list(allowed)
        elif answer.key in LISTED_ELSEWHERE:
            node["examples"] = [default_for(answer.key, {}, catalog, {})]
        if answer.project_kind:
            node["x-mcc-projects"] = answer.project_kind
    return schema


def schema_property(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: dict[str, Any] = schema
    for part in path:
        node = _resolved(schema, node)
        properties = node.get("properties", {})
        if part not in properties:
            return None
        node = properties[part]
    return node


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A property's own object schema: through ``$ref`` and an optional's ``anyOf``."""
    for option in node.get("anyOf", []):
        if "$ref" in option:
            node = option
    ref = node.get("$ref")
    return schema["$defs"][ref.rsplit("/", 1)[1]] if ref else node
