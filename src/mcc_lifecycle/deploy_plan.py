"""``do/deploy --dry-run``: every request do/deploy would send for DEPLOY_MODE, built by the functions that
send them, and what the deployment costs per hour by the catalog's prices. Nothing is created; the only calls
are read-only lookups (the account, whether the endpoint and component exist), skipped without credentials."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from . import deploy, ecr, inference_components
from .aws import Aws
from .endpoints import endpoint_exists
from .names import versioned_name
from .settings import Settings

Request = tuple[str, str, dict[str, Any]]  # service, operation, its parameters
NOT_PUSHED = "<ECR repository {} (not pushed yet)>"
ROLE_NOT_SET = "<ROLE_ARN: not set>"
HOURS_PER_MONTH = 730


def planned_requests(aws: Aws, image_uri: str, endpoint_exists: bool, component_exists: bool) -> list[Request]:
    """do/deploy's requests in order (the waits between them left out)."""
    settings = aws.settings
    name = versioned_name(settings.project_name)
    steps: list[Request] = [("sagemaker", "create_model", deploy.model_request(aws, name, image_uri))]
    if settings.deploy_mode == "batch":
        return [*steps, ("sagemaker", "create_transform_job", deploy.transform_job_request(aws, name, name))]
    if settings.deploy_mode == inference_components.MODE:
        if not endpoint_exists:
            config = inference_components.endpoint_config_request(aws, name)
            steps += [("sagemaker", "create_endpoint_config", config), ("sagemaker", "create_endpoint", {
                "EndpointName": settings.endpoint, "EndpointConfigName": name, "Tags": aws.tags})]  # fmt: skip
        component = inference_components.update_request if component_exists else inference_components.create_request
        operation = "update_inference_component" if component_exists else "create_inference_component"
        steps.append(("sagemaker", operation, component(aws, name)))
        if settings.ic_max_copies:
            scaling = inference_components.scaling_requests(settings)
            steps += [("application-autoscaling", "register_scalable_target", scaling["target"]),
                      ("application-autoscaling", "put_scaling_policy", scaling["tracking"])]  # fmt: skip
        return steps
    steps.append(("sagemaker", "create_endpoint_config", deploy.endpoint_config_request(aws, name, name)))
    if endpoint_exists:
        steps.append(("sagemaker", "update_endpoint", deploy.update_endpoint_request(settings.endpoint, name)))
    else:
        steps.append(("sagemaker", "create_endpoint",
                      {"EndpointName": settings.endpoint, "EndpointConfigName": name, "Tags": aws.tags}))  # fmt: skip
    if settings.deploy_mode == "realtime" and settings.autoscaling_max:
        target, policy = deploy.scaling_requests(aws)
        steps += [("application-autoscaling", "register_scalable_target", target),
                  ("application-autoscaling", "put_scaling_policy", policy)]  # fmt: skip
    return steps


def hourly_cost(settings: Settings, prices: dict[str, float]) -> str:
    """What the deployment costs while it runs, by ``prices`` (instance type -> USD per hour)."""
    if settings.deploy_mode == "serverless":
        return (f"cost: serverless endpoints bill per request (memory x duration, {settings.serverless_memory_mb} MB "
                "here), nothing while idle; see AWS's SageMaker pricing page")  # fmt: skip
    count = settings.batch_instance_count if settings.deploy_mode == "batch" else settings.instance_count
    price = prices.get(settings.instance_type)
    if price is None:
        return (f"cost: mcc's catalog has no price for {settings.instance_type}: see AWS's SageMaker pricing "
                f"page ({count} instance(s))")  # fmt: skip
    while_ = "while the transform job runs" if settings.deploy_mode == "batch" else "while the endpoint exists"
    line = (f"cost {while_}: {count} x {settings.instance_type} at ~${price:g}/h = ~${count * price:.3f}/h "
            f"(~${count * price * HOURS_PER_MONTH:,.0f} a month of {HOURS_PER_MONTH} h)")  # fmt: skip
    most = settings.autoscaling_max if settings.deploy_mode == "realtime" else settings.ic_max_instances
    if most > count:
        line += f", up to ~${most * price:.3f}/h at {most} instances (autoscaling)"
    return line + "; approximate on-demand list price in us-east-1 (mcc's catalog); do/clean stops it"


def instance_prices(table_file: Path) -> dict[str, float]:
    """do/lib/instance-types.json's prices."""
    table = json.loads(table_file.read_text()) if table_file.is_file() else {}
    return {name: row["usd_per_hour"] for name, row in table.items() if row.get("usd_per_hour")}


def hyperpod_dry_run(aws: Aws, root: Path, table_file: Path, out: TextIO, note: TextIO) -> None:
    """DEPLOY_MODE=hyperpod: the manifest do/deploy would apply (YAML) and the kubectl calls, applying nothing."""
    from . import hyperpod_manifest as manifests
    from .hyperpod import read_node

    settings = aws.settings
    account, image = _planned_image(aws)
    workload = manifests.Workload.read(root / "do" / "lib" / manifests.WORKLOAD_FILE)
    settings = manifests.with_model_prefix(settings, workload, account or "ACCOUNT_ID")
    document = manifests.manifest(settings, workload, read_node(table_file, settings), image)
    print(manifests.to_yaml(document), end="", file=out)
    if workload.kind == "generative" and settings.hf_token_secret_arn:
        print(f"kubectl apply --server-side: Secret {manifests.token_secret_name(settings)} from "
              f"{settings.hf_token_secret_arn}", file=note)  # fmt: skip
    print(f"kubectl apply --server-side -f {manifests.MANIFEST_PATH} on HyperPod cluster {settings.hyperpod_cluster}, "
          f"namespace {settings.k8s_namespace}", file=note)  # fmt: skip
    print(
        f"cost: the {settings.instance_count} replica(s) run on the cluster's {settings.instance_type} nodes, billed "
        "with the HyperPod cluster whether or not they run; the endpoint registration adds no instances",
        file=note,
    )
    print("dry run: nothing was applied (do/deploy without --dry-run applies it)", file=note)


def dry_run(aws: Aws, table_file: Path, out: TextIO, note: TextIO) -> None:
    """Print the requests (JSON, one per operation) to ``out`` and the cost, with what was looked up, to ``note``."""
    if not aws.settings.role_arn:
        print("ROLE_ARN is not set: do/deploy needs it (do/config, or do/bootstrap makes the role)", file=note)
        aws = Aws(dataclasses.replace(aws.settings, role_arn=ROLE_NOT_SET))
    settings = aws.settings
    account, image = _planned_image(aws)
    endpoint = _looked_up(lambda: endpoint_exists(aws) is not None) if account else None
    component = _looked_up(lambda: inference_components.describe(aws) is not None) if account else None
    if account is None:
        print("no AWS access here: the image's repository is not looked up and the endpoint is taken as new",
              file=note)  # fmt: skip
    for number, (service, operation, request) in enumerate(planned_requests(aws, image, bool(endpoint),
                                                                            bool(component)), 1):  # fmt: skip
        print(f"# {number}. {service} {api_name(operation)}", file=out)
        print(json.dumps(request, indent=2, default=str), file=out)
    print(hourly_cost(settings, instance_prices(table_file)), file=note)
    print("dry run: nothing was created (do/deploy without --dry-run sends these)", file=note)


def _planned_image(aws: Aws) -> tuple[str | None, str]:
    """The account (None without AWS access) and the image do/deploy would deploy."""
    settings = aws.settings
    account = settings.account_id or _looked_up(lambda: aws.account_id)
    repository = _looked_up(lambda: ecr.repository_uri(aws)) if account else None
    return account, settings.image_uri or f"{repository or NOT_PUSHED.format(settings.repository)}:{settings.image_tag}"


def api_name(operation: str) -> str:
    """boto3's method name as the API names the operation: create_model -> CreateModel."""
    return "".join(part.title() for part in operation.split("_"))


def _looked_up(lookup: Callable[[], Any]) -> Any:
    try:
        return lookup()
    except (BotoCoreError, ClientError, LookupError):
        return None
