"""The Hugging Face token, read at start: ``HF_TOKEN`` as given, or the secret ``HF_TOKEN_SECRET_ARN`` names.

The token is never baked into the image or a generated file; with a secret ARN it is not even part of the
SageMaker model's environment. The secret holds the token as plain text, or as JSON with an ``HF_TOKEN``
(or ``token``) key. boto3 comes from the image's vendored tools (``/opt/program/vendor``) when the engine's
own Python lacks it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

VENDOR_DIR = Path("/opt/program/vendor")
TOKEN_KEYS = ("HF_TOKEN", "token", "hf_token")


class SecretError(RuntimeError):
    """The token secret could not be read."""


def token_environment(secret_arn: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``{"HF_TOKEN": token}`` to add to the engine's environment; empty when there is nothing to add."""
    arn = environ.get("HF_TOKEN_SECRET_ARN") or secret_arn
    if not arn or environ.get("HF_TOKEN"):
        return {}
    token = read_secret(arn, environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or _region_of(arn))
    return {"HF_TOKEN": token, "HUGGING_FACE_HUB_TOKEN": token}


def read_secret(arn: str, region: str) -> str:
    if VENDOR_DIR.is_dir() and str(VENDOR_DIR) not in sys.path:
        sys.path.append(str(VENDOR_DIR))  # after the engine's own packages
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise SecretError(f"cannot read {arn}: boto3 is not installed ({exc})") from None
    try:
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=arn)["SecretString"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise SecretError(f"cannot read the Hugging Face token from {arn}: {exc}") from None
    return token_from(value, arn)


def token_from(value: str, arn: str) -> str:
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise SecretError(f"{arn} holds malformed JSON") from None
        found = next((data[k] for k in TOKEN_KEYS if isinstance(data.get(k), str) and data[k]), None)
        if not found:
            raise SecretError(f"{arn} is JSON without a {' / '.join(TOKEN_KEYS)} key")
        return found.strip()
    if not text:
        raise SecretError(f"{arn} is empty")
    return text


def _region_of(arn: str) -> str:
    return arn.split(":")[3]
