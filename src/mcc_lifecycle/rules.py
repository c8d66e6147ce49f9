"""Checks that run before any AWS call (and at generation time): each returns messages, empty when fine."""

from __future__ import annotations

import re

from . import amis, hyperpod_manifest, platforms
from .container import container_environment
from .settings import DEPLOY_MODES, Settings, SettingsError

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
SAGEMAKER_NAME_MAX = 63
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso|-isob)?-[a-z]+-\d$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
NEURON_INSTANCE_TYPE = re.compile(r"^ml\.(inf2|trn\d+n?)\.")  # AWS Inferentia2 and Trainium
NEURON_COMPONENTS_REASON = (
    "is not generated for AWS Neuron images: how SageMaker reserves NeuronCores for a component is not checked by "
    "mcc yet; deploy realtime or async"
)
NEURON_COMPONENTS = f"DEPLOY_MODE=inference-component {NEURON_COMPONENTS_REASON}"
ECR_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200
NAME_SUFFIX_LEN = 16  # "-YYYYmmdd-HHMMSS": what versioned model and configuration names add


BATCH_ACCEPTS = ("text/csv", "application/jsonlines")  # answers with one line per record


def sagemaker_name_error(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if len(name) > SAGEMAKER_NAME_MAX:
        return f"is {len(name)} characters; SageMaker names allow at most {SAGEMAKER_NAME_MAX}"
    if not SAGEMAKER_NAME.match(name):
        return (
            "must match SageMaker's name rule ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$: letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )
    return None


def role_arn_error(arn: str) -> str | None:
    if ROLE_ARN.match(arn):
        return None
    return "is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"


def deploy_mode_error(mode: str) -> str | None:
    return None if mode in DEPLOY_MODES else f"is not a deploy mode (allowed: {', '.join(DEPLOY_MODES)})"


def settings_errors(settings: Settings, action: str) -> list[str]:
    """Everything wrong with ``settings`` for ``action`` (push, submit, deploy, test, clean …)."""
    errors = []
    _check(errors, "PROJECT_NAME", settings.project_name, sagemaker_name_error(settings.project_name))
    _check(errors, "ENDPOINT_NAME", settings.endpoint, sagemaker_name_error(settings.endpoint))
    if not REGION.match(settings.aws_region):
        errors.append(f"AWS_REGION={settings.aws_region!r} is not an AWS Region name such as us-east-1")
    if settings.account_id and not re.fullmatch(r"\d{12}", settings.account_id):
        errors.append(f"ACCOUNT_ID={settings.account_id!r} must be 12 digits")
    if not ECR_REPOSITORY.match(settings.repository):
        errors.append(f"ECR_REPOSITORY={settings.repository!r} is not a valid ECR repository name (lower case)")
    if settings.ecr_tag_mutability not in ("MUTABLE", "IMMUTABLE"):
        errors.append(f"ECR_TAG_MUTABILITY={settings.ecr_tag_mutability!r} must be MUTABLE or IMMUTABLE")
    if action == "submit" or (action == "deploy" and settings.deploy_mode != "hyperpod"):
        errors += _role_errors(settings, action)  # on HyperPod the operator's own role registers the endpoint
    if action == "submit":
        errors += _platform_errors(settings)
    if action == "deploy":
        errors += deploy_errors(settings)
    if action == "submit":
        errors += index_url_errors(settings)
    if action == "register":
        errors += register_errors(settings)
    if action == "package":
        _check_s3(errors, "MODEL_DATA_URL", settings.model_data_url, required=False)
    if settings.model_data_url and not settings.model_data_url.endswith(".tar.gz"):
        errors.append(f"MODEL_DATA_URL={settings.model_data_url!r} must name a model.tar.gz (SageMaker unpacks it)")
    return errors


CREDENTIALS_IN_URL = re.compile(r"^[A-Za-z+.-]+://[^/]*@")


def index_url_errors(settings: Settings) -> list[str]:
    """pip's indexes reach the build as build arguments, which an image's history records: no credentials."""
    urls = {"BUILD_INDEX_URL": settings.build_index_url, "BUILD_EXTRA_INDEX_URL": settings.build_extra_index_url}
    return [
        f"{name} holds credentials, and build arguments are recorded in the image's history (docker history shows "
        "them to anyone who pulls the image). Use a URL without user:password@"
        for name, url in urls.items()
        if CREDENTIALS_IN_URL.match(url)
    ]


MODEL_PACKAGE_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")


def register_errors(settings: Settings) -> list[str]:
    """do/register: a Model Package Group name SageMaker takes, and an approval status it knows."""
    errors = []
    if settings.model_package_group and not MODEL_PACKAGE_GROUP.match(settings.model_package_group):
        errors.append(f"MODEL_PACKAGE_GROUP={settings.model_package_group!r} is not a Model Package Group name "
                      "(1-63 letters, digits and hyphens, starting and ending with a letter or digit)")  # fmt: skip
    if settings.model_approval_status not in APPROVAL_STATUSES:
        errors.append(f"MODEL_APPROVAL_STATUS={settings.model_approval_status!r} must be one of "
                      f"{', '.join(APPROVAL_STATUSES)}")  # fmt: skip
    return errors


def _platform_errors(settings: Settings) -> list[str]:
    error = platforms.platform_error(settings.platform, settings.deploy_mode, settings.instance_type)
    error = error or platforms.unbuildable_error(settings.image_platform, platforms.buildable_platforms())
    return [error] if error else []


def _role_errors(settings: Settings, action: str) -> list[str]:
    name, arn = (
        ("ROLE_ARN", settings.role_arn) if action == "deploy" else ("CODEBUILD_ROLE_ARN", settings.codebuild_role_arn)
    )
    if not arn:
        return [
            f"{name} must be set: the IAM role {'SageMaker' if action == 'deploy' else 'CodeBuild'} assumes "
            "(README.md, section 'IAM'; or create it with do/bootstrap)"
        ]
    message = role_arn_error(arn)
    return [f"{name}={arn!r} {message}"] if message else []


def deploy_errors(settings: Settings) -> list[str]:
    """The deploy mode and what it needs."""
    mode = settings.deploy_mode
    message = deploy_mode_error(mode)
    if message:
        return [f"DEPLOY_MODE={mode!r} {message}"]
    errors = []
    longest = SAGEMAKER_NAME_MAX - NAME_SUFFIX_LEN
    if len(settings.project_name) > longest:
        errors.append(
            f"PROJECT_NAME is {len(settings.project_name)} characters; versioned model names need it at most {longest}"
        )
    if mode == "serverless":
        if settings.gpu_required:
            errors.append(
                "DEPLOY_MODE=serverless cannot run this image: it needs a GPU and serverless endpoints have none"
            )
        if settings.serverless_memory_mb not in SERVERLESS_MEMORY_MB:
            allowed = ", ".join(map(str, SERVERLESS_MEMORY_MB))
            errors.append(f"SERVERLESS_MEMORY_MB={settings.serverless_memory_mb} must be one of {allowed}")
        if not 1 <= settings.serverless_max_concurrency <= SERVERLESS_MAX_CONCURRENCY:
            errors.append(f"SERVERLESS_MAX_CONCURRENCY must be 1 to {SERVERLESS_MAX_CONCURRENCY}")
    elif not INSTANCE_TYPE.match(settings.instance_type):
        errors.append(
            f"INSTANCE_TYPE={settings.instance_type!r} is not a SageMaker instance type (ml.m5.large …); "
            f"{mode} deployments need one"
        )
    count = settings.batch_instance_count if mode == "batch" else settings.instance_count
    if mode != "serverless" and count < 1:
        errors.append("INSTANCE_COUNT must be at least 1")
    errors += endpoint_setting_errors(settings)
    if mode == "realtime" and settings.autoscaling_max:
        if not 1 <= settings.autoscaling_min <= settings.autoscaling_max:
            errors.append("autoscaling needs 1 <= AUTOSCALING_MIN <= AUTOSCALING_MAX")
        if settings.autoscaling_target < 1:
            errors.append("AUTOSCALING_TARGET (invocations per instance per minute) must be at least 1")
    if mode == "hyperpod":
        errors += hyperpod_manifest.settings_errors(settings)
    if mode == "async":
        _check_s3(errors, "ASYNC_OUTPUT_PATH", settings.async_output_path, required=True)
        if not 1 <= settings.async_max_concurrency <= 1000:
            errors.append("ASYNC_MAX_CONCURRENCY must be 1 to 1000")
    if mode == "batch":
        _check_s3(errors, "BATCH_INPUT", settings.batch_input, required=True)
        _check_s3(errors, "BATCH_OUTPUT", settings.batch_output, required=True)
        if settings.batch_split_type not in ("None", "Line", "RecordIO", "TFRecord"):
            errors.append("BATCH_SPLIT_TYPE must be None, Line, RecordIO or TFRecord")
        if not 0 <= settings.batch_max_payload_mb <= 100:
            errors.append("BATCH_MAX_PAYLOAD_MB must be 0 to 100")
        _check(errors, "BATCH_MAX_PAYLOAD_MB", settings.batch_max_payload_mb, _batch_payload_error(settings))
        if settings.batch_accept not in BATCH_ACCEPTS:
            errors.append(f"BATCH_ACCEPT={settings.batch_accept!r} must be one of {', '.join(BATCH_ACCEPTS)}: "
                          "one output line per input record")  # fmt: skip
    _check_s3(errors, "MODEL_DATA_URL", settings.model_data_url, required=False)
    _check_s3(errors, "MODEL_DATA_PREFIX", settings.model_data_prefix, required=False)
    if mode != "serverless":
        ami = amis.ami_error(settings.inference_ami_version, settings.image_cuda, amis.load())
        if ami:
            errors.append(ami)
    if settings.image_neuron_sdk and mode == "inference-component":
        errors.append(NEURON_COMPONENTS)
    if settings.image_neuron_sdk and (mode == "serverless" or not NEURON_INSTANCE_TYPE.match(settings.instance_type)):
        where = "a serverless endpoint" if mode == "serverless" else f"INSTANCE_TYPE={settings.instance_type}"
        errors.append(
            f"the image runs on AWS Neuron (Neuron SDK {settings.image_neuron_sdk}); {where} has no Neuron "
            "accelerator: use an Inferentia2 or Trainium type (ml.inf2.*, ml.trn1.*, ml.trn1n.*, ml.trn2.*)"
        )
    _check(errors, "HF_TOKEN_SECRET_ARN", settings.hf_token_secret_arn, secret_arn_error(settings.hf_token_secret_arn))
    return errors


ROUTING_STRATEGIES = ("LEAST_OUTSTANDING_REQUESTS", "RANDOM")
CAPTURE_MODES = ("Input", "Output")


def endpoint_setting_errors(settings: Settings) -> list[str]:
    """The production variant's name, storage, routing and data capture (real-time and async endpoints)."""
    errors = []
    _check(errors, "VARIANT_NAME", settings.variant_name, sagemaker_name_error(settings.variant_name))
    instance_based = settings.deploy_mode in ("realtime", "async", "inference-component")
    if settings.volume_size_gb and not (instance_based and 1 <= settings.volume_size_gb <= 512):
        errors.append("VOLUME_SIZE_GB must be 1 to 512 (or 0 for SageMaker's default), on endpoints with instances")
    if settings.routing_strategy and not (instance_based and settings.routing_strategy in ROUTING_STRATEGIES):
        errors.append(f"ROUTING_STRATEGY={settings.routing_strategy!r} must be empty or one of "
                      f"{', '.join(ROUTING_STRATEGIES)}, on endpoints with instances")  # fmt: skip
    if settings.deploy_mode == "inference-component":
        errors += inference_component_errors(settings)
    if settings.data_capture_percent:
        if not (settings.deploy_mode in ("realtime", "async") and 1 <= settings.data_capture_percent <= 100):
            errors.append("DATA_CAPTURE_PERCENT must be 1 to 100 (0: off), on real-time or async endpoints")
        modes = settings.data_capture_modes.split()
        if not modes or set(modes) - set(CAPTURE_MODES) or len(set(modes)) != len(modes):
            errors.append(f"DATA_CAPTURE_MODES={settings.data_capture_modes!r} must be Input, Output or both")
        _check_s3(errors, "DATA_CAPTURE_S3", settings.data_capture_s3, required=False)
    return errors


def inference_component_errors(settings: Settings) -> list[str]:
    """What each copy reserves, how many copies, and the endpoint's managed instance scaling."""
    errors = []
    _check(errors, "INFERENCE_COMPONENT_NAME", settings.inference_component,
           sagemaker_name_error(settings.inference_component))  # fmt: skip
    if settings.ic_copy_count < 1:
        errors.append("IC_COPY_COUNT must be at least 1")
    if settings.ic_memory_mb < 128:
        errors.append("IC_MEMORY_MB (each copy's memory reservation) must be at least 128")
    if settings.ic_accelerators < 0 or settings.ic_cpu_cores < 0:
        errors.append("IC_ACCELERATORS and IC_CPU_CORES must be 0 (no reservation) or more")
    if settings.ic_max_copies and not 0 <= settings.ic_min_copies <= settings.ic_max_copies:
        errors.append("autoscaling of copies needs 0 <= IC_MIN_COPIES <= IC_MAX_COPIES")
    if settings.ic_max_copies and settings.ic_target_concurrency < 1:
        errors.append("IC_TARGET_CONCURRENCY (concurrent requests per copy) must be at least 1")
    if settings.ic_max_instances and not 0 <= settings.ic_min_instances <= settings.ic_max_instances:
        errors.append("managed instance scaling needs 0 <= IC_MIN_INSTANCES <= IC_MAX_INSTANCES")
    if settings.autoscaling_max:
        errors.append("AUTOSCALING_MAX scales a model variant; an inference-component endpoint scales its instances "
                      "with IC_MIN_INSTANCES/IC_MAX_INSTANCES")  # fmt: skip
    return errors


SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")


def secret_arn_error(arn: str) -> str | None:
    """Empty is allowed (no secret)."""
    if not arn or SECRET_ARN.match(arn):
        return None
    return "is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"


def _batch_payload_error(settings: Settings) -> str | None:
    """A transform job's mini-batches must fit the container's body limit (MCC_MAX_PAYLOAD_MB in CONTAINER_ENV;
    otherwise the server takes SAGEMAKER_MAX_PAYLOAD_IN_MB, which SageMaker sets to MaxPayloadInMB)."""
    try:
        limit = container_environment(settings).get("MCC_MAX_PAYLOAD_MB", "")
    except SettingsError:
        return None  # CONTAINER_ENV's own problem is reported where it is read
    if limit.isdigit() and settings.batch_max_payload_mb > int(limit):
        return (f"is larger than the container's body limit, MCC_MAX_PAYLOAD_MB={limit} in CONTAINER_ENV: every "
                "mini-batch over it would be refused (413). Lower BATCH_MAX_PAYLOAD_MB or raise the limit")  # fmt: skip
    return None


def _check(errors: list[str], name: str, value: object, message: str | None) -> None:
    if message:
        errors.append(f"{name}={value!r} {message}")


def _check_s3(errors: list[str], name: str, value: str, required: bool) -> None:
    if not value:
        if required:
            errors.append(f"{name} must be set to an s3:// URI")
    elif not S3_URI.match(value):
        errors.append(f"{name}={value!r} is not an s3://bucket/prefix URI")
