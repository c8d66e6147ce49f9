"""``DEPLOY_MODE=inference-component``: an endpoint that hosts models as inference components (ICs).

The endpoint's configuration names no model: only the execution role, the instance type and count (and managed
instance scaling). The model runs as an IC with its own reservation of accelerators, memory and CPU cores and a
copy count; several ICs (several projects) can share one endpoint. A new image or model updates the IC in place
(``UpdateInferenceComponent``: SageMaker replaces its copies without downtime). Request building is separate
from the calls, so each request can be checked against botocore's SageMaker model.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from botocore.exceptions import ClientError

from .aws import Aws, is_missing
from .endpoints import endpoint_exists, wait_for_endpoint
from .local_host import INSTANCE_TABLE
from .settings import Settings
from .waiting import wait_for_status

MODE = "inference-component"
DEFAULT_ROUTING = "LEAST_OUTSTANDING_REQUESTS"
SCALABLE_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
CONCURRENCY_METRIC = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
NO_CAPACITY_METRIC = "NoCapacityInvocationFailures"  # requests that found no copy: the signal to start one


def endpoint_config_request(aws: Aws, name: str) -> dict[str, Any]:
    """An endpoint configuration for ICs: the execution role and the instances, no model."""
    settings = aws.settings
    variant: dict[str, Any] = {
        "VariantName": settings.variant_name,
        "InstanceType": settings.instance_type,
        "InitialInstanceCount": settings.instance_count,
        "RoutingConfig": {"RoutingStrategy": settings.routing_strategy or DEFAULT_ROUTING},
    }
    if settings.ic_max_instances:
        variant["ManagedInstanceScaling"] = {
            "Status": "ENABLED",
            "MinInstanceCount": settings.ic_min_instances,
            "MaxInstanceCount": settings.ic_max_instances,
        }
    if settings.inference_ami_version:
        variant["InferenceAmiVersion"] = settings.inference_ami_version
    if settings.volume_size_gb:
        variant["VolumeSizeInGB"] = settings.volume_size_gb
    return {
        "EndpointConfigName": name,
        "ExecutionRoleArn": settings.role_arn,
        "ProductionVariants": [variant],
        "Tags": aws.tags,
    }


def specification(settings: Settings, model_name: str) -> dict[str, Any]:
    """The IC's model and what each copy reserves (accelerators: GPU_COUNT unless IC_ACCELERATORS says)."""
    requirements: dict[str, Any] = {"MinMemoryRequiredInMb": settings.ic_memory_mb}
    accelerators = settings.ic_accelerators or (settings.gpu_count if settings.gpu_required else 0)
    if accelerators:
        requirements["NumberOfAcceleratorDevicesRequired"] = float(accelerators)
    if settings.ic_cpu_cores:
        requirements["NumberOfCpuCoresRequired"] = float(settings.ic_cpu_cores)
    spec: dict[str, Any] = {"ModelName": model_name, "ComputeResourceRequirements": requirements}
    if settings.startup_timeout_s:
        spec["StartupParameters"] = {
            "ModelDataDownloadTimeoutInSeconds": settings.startup_timeout_s,
            "ContainerStartupHealthCheckTimeoutInSeconds": settings.startup_timeout_s,
        }
    return spec


def create_request(aws: Aws, model_name: str) -> dict[str, Any]:
    settings = aws.settings
    return {
        "InferenceComponentName": settings.inference_component,
        "EndpointName": settings.endpoint,
        "VariantName": settings.variant_name,
        "Specification": specification(settings, model_name),
        "RuntimeConfig": {"CopyCount": settings.ic_copy_count},
        "Tags": aws.tags,
    }


def update_request(aws: Aws, model_name: str) -> dict[str, Any]:
    """The same IC with a new model (a new image or model data): SageMaker replaces its copies."""
    settings = aws.settings
    return {
        "InferenceComponentName": settings.inference_component,
        "Specification": specification(settings, model_name),
        "RuntimeConfig": {"CopyCount": settings.ic_copy_count},
    }


def scaling_requests(settings: Settings) -> dict[str, dict[str, Any]]:
    """Application Auto Scaling of the IC's copies: the scalable target (IC_MIN_COPIES to IC_MAX_COPIES) and
    target tracking on concurrent requests per copy; with IC_MIN_COPIES=0 also the step policy that starts a
    copy when requests find none (its CloudWatch alarm: ``scale_out_alarm_request``)."""
    resource = f"inference-component/{settings.inference_component}"
    common = {"ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": SCALABLE_DIMENSION}
    requests = {
        "target": {**common, "MinCapacity": settings.ic_min_copies, "MaxCapacity": settings.ic_max_copies},
        "tracking": {
            **common,
            "PolicyName": f"{settings.inference_component}-concurrency-per-copy",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": float(settings.ic_target_concurrency),
                "PredefinedMetricSpecification": {"PredefinedMetricType": CONCURRENCY_METRIC},
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    }
    if settings.ic_min_copies == 0:
        requests["from_zero"] = {
            **common,
            "PolicyName": f"{settings.inference_component}-scale-out-from-zero",
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Maximum",
                "Cooldown": 60,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            },
        }
    return requests


def scale_out_alarm_request(settings: Settings, policy_arn: str) -> dict[str, Any]:
    """The alarm that runs the step policy when a request finds no copy (the IC is at zero)."""
    return {
        "AlarmName": alarm_name(settings),
        "AlarmDescription": f"start a copy of {settings.inference_component} when requests find none",
        "ActionsEnabled": True,
        "AlarmActions": [policy_arn],
        "Namespace": "AWS/SageMaker",
        "MetricName": NO_CAPACITY_METRIC,
        "Dimensions": [{"Name": "InferenceComponentName", "Value": settings.inference_component}],
        "Statistic": "Maximum",
        "Period": 30,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
    }


def alarm_name(settings: Settings) -> str:
    return f"{settings.inference_component}-scale-out-from-zero"


def apply_scaling(aws: Aws, out=sys.stderr) -> None:
    """Register the copies' scaling (IC_MAX_COPIES > 0), and the way back from zero copies."""
    settings = aws.settings
    requests = scaling_requests(settings)
    autoscaling = aws.client("application-autoscaling")
    autoscaling.register_scalable_target(**requests["target"])
    autoscaling.put_scaling_policy(**requests["tracking"])
    print(f"copies: {settings.ic_min_copies}-{settings.ic_max_copies}, target {settings.ic_target_concurrency} "
          "concurrent requests per copy", file=out)  # fmt: skip
    if "from_zero" in requests:
        policy = autoscaling.put_scaling_policy(**requests["from_zero"])
        aws.client("cloudwatch").put_metric_alarm(**scale_out_alarm_request(settings, policy["PolicyARN"]))
        budget = f"up to {settings.startup_timeout_s} s" if settings.startup_timeout_s else "minutes"
        print(f"scale to zero: at 0 copies a request fails ({NO_CAPACITY_METRIC}) and starts a copy, which takes "
              f"{budget} (STARTUP_TIMEOUT_S); clients retry meanwhile", file=out)  # fmt: skip


def remove_scaling(aws: Aws) -> list[str]:
    """Deregister the copies' scalable target (its policies go with it) and delete the scale-out alarm."""
    settings, removed = aws.settings, []
    autoscaling = aws.client("application-autoscaling")
    target = scaling_requests(settings)["target"]
    found = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[target["ResourceId"]])
    if found.get("ScalableTargets"):
        autoscaling.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=target["ResourceId"], ScalableDimension=SCALABLE_DIMENSION
        )
        removed.append(f"scalable target {target['ResourceId']}")
    cloudwatch = aws.client("cloudwatch")
    if cloudwatch.describe_alarms(AlarmNames=[alarm_name(settings)]).get("MetricAlarms"):
        cloudwatch.delete_alarms(AlarmNames=[alarm_name(settings)])
        removed.append(f"alarm {alarm_name(settings)}")
    return removed


def describe(aws: Aws) -> dict[str, Any] | None:
    try:
        return aws.client("sagemaker").describe_inference_component(
            InferenceComponentName=aws.settings.inference_component
        )
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise


def deploy(aws: Aws, model_name: str, out=sys.stderr) -> dict[str, Any]:
    """The endpoint (created when missing, shared when it exists), then this project's IC on it."""
    settings, sagemaker = aws.settings, aws.client("sagemaker")
    if endpoint_exists(aws) is None:
        sagemaker.create_endpoint_config(**endpoint_config_request(aws, model_name))
        sagemaker.create_endpoint(EndpointName=settings.endpoint, EndpointConfigName=model_name, Tags=aws.tags)
        print(f"creating endpoint {settings.endpoint} for inference components ({settings.instance_type})", file=out)
        wait_for_endpoint(aws, out=out)
    else:
        print(f"endpoint {settings.endpoint} exists: adding to it", file=out)
    if describe(aws) is None:
        sagemaker.create_inference_component(**create_request(aws, model_name))
        print(f"creating inference component {settings.inference_component}", file=out)
    else:
        remove_scaling(aws)  # as for variants: the update sets the copy count, then the scaling comes back
        sagemaker.update_inference_component(**update_request(aws, model_name))
        print(f"updating inference component {settings.inference_component} to model {model_name}", file=out)
    for warning in oversubscription(aws):
        print(f"warning: {warning}", file=out)
    component = wait(aws, out)
    if settings.ic_max_copies:
        apply_scaling(aws, out)
    return component


def wait(aws: Aws, out=sys.stderr, poll: float = 15.0) -> dict[str, Any]:
    settings = aws.settings
    return wait_for_status(
        describe=lambda: aws.client("sagemaker").describe_inference_component(
            InferenceComponentName=settings.inference_component
        ),
        status_key="InferenceComponentStatus",
        done="InService",
        failed=("Failed",),
        what=f"inference component {settings.inference_component}",
        logs=f"/aws/sagemaker/InferenceComponents/{settings.inference_component}",
        limit_s=settings.deploy_timeout_min * 60,
        poll=poll,
        out=out,
    )


def oversubscription(aws: Aws) -> list[str]:
    """What the endpoint's ICs reserve against what its instances have (from do/lib/instance-types.json)."""
    settings = aws.settings
    table = json.loads(INSTANCE_TABLE.read_text()) if INSTANCE_TABLE.exists() else {}
    instance = table.get(settings.instance_type)
    if not instance:
        return []
    listed = aws.client("sagemaker").list_inference_components(EndpointNameEquals=settings.endpoint)
    reserved = {"memory": 0.0, "accelerators": 0.0}
    names = {item["InferenceComponentName"] for item in listed.get("InferenceComponents", [])}
    names.add(settings.inference_component)
    for name in sorted(names):
        requirements, copies = _reservation(aws, name)
        reserved["memory"] += requirements.get("MinMemoryRequiredInMb", 0) * copies
        reserved["accelerators"] += requirements.get("NumberOfAcceleratorDevicesRequired", 0) * copies
    return reservation_warnings(reserved, instance, settings.instance_count, settings.instance_type)


def _reservation(aws: Aws, name: str) -> tuple[dict[str, Any], int]:
    if name == aws.settings.inference_component:
        return specification(aws.settings, "")["ComputeResourceRequirements"], aws.settings.ic_copy_count
    found = aws.client("sagemaker").describe_inference_component(InferenceComponentName=name)
    runtime = found.get("RuntimeConfig", {})
    return found["Specification"].get("ComputeResourceRequirements", {}), runtime.get("CurrentCopyCount", 1)


def reservation_warnings(reserved: dict[str, float], instance: dict[str, Any], count: int, name: str) -> list[str]:
    """Reservations beyond ``count`` instances: the copies that do not fit stay pending."""
    warnings = []
    memory_mb = instance["memory_gib"] * 1024 * count
    if reserved["memory"] > memory_mb:
        warnings.append(
            f"the endpoint's inference components reserve {reserved['memory']:.0f} MB of memory; "
            f"{count} x {name} have {memory_mb:.0f} MB: some copies will not be placed"
        )
    gpus = instance.get("gpus", 0) * count
    if reserved["accelerators"] > gpus:
        warnings.append(
            f"the endpoint's inference components reserve {reserved['accelerators']:g} accelerators; "
            f"{count} x {name} have {gpus}: some copies will not be placed"
        )
    return warnings


def delete(aws: Aws) -> bool:
    """Delete this project's IC (only when it carries the project's tag); False when there is none to delete."""
    from .aws import PROJECT_TAG

    found = describe(aws)
    if found is None:
        return False
    sagemaker = aws.client("sagemaker")
    tags = sagemaker.list_tags(ResourceArn=found["InferenceComponentArn"]).get("Tags", [])
    if {"Key": PROJECT_TAG, "Value": aws.settings.project_name} not in tags:
        print(f"keeping inference component {aws.settings.inference_component}: not tagged as this project's",
              file=sys.stderr)  # fmt: skip
        return False
    sagemaker.delete_inference_component(InferenceComponentName=aws.settings.inference_component)
    return True


def wait_until_gone(aws: Aws, limit_s: float = 900.0, poll: float = 10.0) -> None:
    """An IC is deleted in the background; its endpoint can go only after it."""
    deadline = time.monotonic() + limit_s
    while describe(aws) is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"inference component {aws.settings.inference_component} still exists")
        time.sleep(poll)


def others_on_endpoint(aws: Aws) -> list[str]:
    """ICs of other projects on the endpoint: do/clean then keeps the endpoint."""
    listed = aws.client("sagemaker").list_inference_components(EndpointNameEquals=aws.settings.endpoint)
    names = [ic["InferenceComponentName"] for ic in listed.get("InferenceComponents", [])]
    return [name for name in names if name != aws.settings.inference_component]


# LoRA adapters as inference components on top of this project's IC (SageMaker loads them through LMI).
ADAPTER_ENGINES = ("djl-lmi",)


def adapter_component(settings: Settings, adapter: str) -> str:
    return f"{settings.inference_component}-{adapter}"


def adapter_request(aws: Aws, adapter: str, artifact_url: str) -> dict[str, Any]:
    """An adapter IC: the base IC's model with the adapter's weights (a .tar.gz in S3) on top."""
    settings = aws.settings
    return {
        "InferenceComponentName": adapter_component(settings, adapter),
        "EndpointName": settings.endpoint,
        "Specification": {
            "BaseInferenceComponentName": settings.inference_component,
            "Container": {"ArtifactUrl": artifact_url},
        },
        "Tags": aws.tags,
    }


def adapter_errors(settings: Settings, serving: dict[str, Any], adapter: str, artifact_url: str | None) -> list[str]:
    """Why ``adapter`` cannot be added (or named) for this project; empty when it can."""
    from .rules import sagemaker_name_error

    errors = []
    if settings.deploy_mode != MODE:
        errors.append(f"adapters are inference components: DEPLOY_MODE must be {MODE} (now {settings.deploy_mode})")
    engine = (serving.get("engine") or {}).get("name", "")
    if engine not in ADAPTER_ENGINES:
        errors.append(f"SageMaker loads adapter components through AWS's LMI container (--engine djl-lmi); {engine} "
                      "serves local adapters only (MCC_LORA_DIR, with --enable-lora)")  # fmt: skip
    elif not (serving.get("generation") or {}).get("enable_lora"):
        errors.append("the project serves no LoRA adapters: generate it with --enable-lora")
    problem = sagemaker_name_error(adapter_component(settings, adapter))
    if problem:
        errors.append(f"adapter name {adapter!r}: the component {adapter_component(settings, adapter)!r} {problem}")
    if artifact_url is not None and not (artifact_url.startswith("s3://") and artifact_url.endswith(".tar.gz")):
        errors.append(f"{artifact_url!r} is not an s3://… .tar.gz of the adapter's files")
    return errors


def adapters_of(base: str, described: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The adapter ICs among ``described`` (DescribeInferenceComponent answers) that sit on ``base``."""
    found = []
    for component in described:
        spec = component.get("Specification", {})
        if spec.get("BaseInferenceComponentName") == base:
            found.append({
                "name": component["InferenceComponentName"].removeprefix(f"{base}-"),
                "component": component["InferenceComponentName"],
                "status": component.get("InferenceComponentStatus", ""),
                "artifact": spec.get("Container", {}).get("ArtifactUrl", ""),
            })  # fmt: skip
    return found


def adapters_on_endpoint(aws: Aws) -> list[dict[str, str]]:
    """This project's adapters, as the endpoint's components say."""
    sagemaker = aws.client("sagemaker")
    listed = sagemaker.list_inference_components(EndpointNameEquals=aws.settings.endpoint)
    described = [
        sagemaker.describe_inference_component(InferenceComponentName=item["InferenceComponentName"])
        for item in listed.get("InferenceComponents", [])
    ]
    return adapters_of(aws.settings.inference_component, described)


def adapter_action(aws: Aws, action: str, adapter: str | None, artifact_url: str | None, out=sys.stdout) -> int:
    """do/adapter add NAME S3_URI | list | remove NAME."""
    settings, sagemaker = aws.settings, aws.client("sagemaker")
    if action == "list":
        for found in adapters_on_endpoint(aws):
            print(f"{found['name']}\t{found['status']}\t{found['artifact']}", file=out)
        return 0
    name = adapter_component(settings, adapter or "")
    if action == "add":
        sagemaker.create_inference_component(**adapter_request(aws, adapter or "", artifact_url or ""))
        print(f"creating adapter component {name} on {settings.inference_component}", file=sys.stderr)
        wait(aws.with_component(name), sys.stderr)
        return 0
    try:
        sagemaker.delete_inference_component(InferenceComponentName=name)
    except ClientError as exc:
        if not is_missing(exc):
            raise
        print(f"no adapter {adapter} on {settings.inference_component}", file=sys.stderr)
        return 0
    print(f"deleted adapter component {name}", file=sys.stderr)
    return 0
