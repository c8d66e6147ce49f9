"""``do/status``: what is deployed now: the endpoint, its instances, and on an inference-component endpoint this
project's component (copies, reservation) and its adapters."""

from __future__ import annotations

import sys
from typing import Any

from . import inference_components
from .aws import Aws
from .endpoints import endpoint_exists

RESERVATIONS = {
    "MinMemoryRequiredInMb": "MB memory",
    "NumberOfAcceleratorDevicesRequired": "accelerator(s)",
    "NumberOfCpuCoresRequired": "CPU core(s)",
}


def status_lines(endpoint: dict[str, Any], component: dict[str, Any] | None, adapters: list[dict]) -> list[str]:
    """The status of the endpoint (DescribeEndpoint's answer), the component and its adapters, as lines."""
    lines = [f"endpoint {endpoint['EndpointName']}: {endpoint['EndpointStatus']} "
             f"(configuration {endpoint.get('EndpointConfigName', '-')})"]  # fmt: skip
    if endpoint.get("FailureReason"):
        lines.append(f"  failure: {endpoint['FailureReason']}")
    for variant in endpoint.get("ProductionVariants", []):
        count = variant.get("CurrentInstanceCount", "-")
        desired = variant.get("DesiredInstanceCount", count)
        lines.append(f"  variant {variant['VariantName']}: {count} instance(s) running, {desired} desired")
    if component is not None:
        runtime = component.get("RuntimeConfig", {})
        spec = component.get("Specification", {})
        needs = spec.get("ComputeResourceRequirements", {})
        reservation = ", ".join(f"{needs[key]:g} {unit}" for key, unit in RESERVATIONS.items() if key in needs)
        lines.append(
            f"inference component {component['InferenceComponentName']}: {component['InferenceComponentStatus']}, "
            f"{runtime.get('CurrentCopyCount', '-')} of {runtime.get('DesiredCopyCount', '-')} copies "
            f"(model {spec.get('ModelName', '-')}; each copy: {reservation or 'no reservation'})"
        )
        if component.get("FailureReason"):
            lines.append(f"  failure: {component['FailureReason']}")
    lines += [f"  adapter {a['name']}: {a['status']} ({a['artifact']})" for a in adapters]
    return lines


def print_status(aws: Aws, out=sys.stdout) -> int:
    settings = aws.settings
    endpoint = endpoint_exists(aws)
    if endpoint is None:
        print(f"no endpoint {settings.endpoint}: deploy with do/deploy", file=out)
        return 1
    component, adapters = None, []
    if settings.deploy_mode == inference_components.MODE:
        component = inference_components.describe(aws)
        adapters = inference_components.adapters_on_endpoint(aws)
    for line in status_lines(endpoint, component, adapters):
        print(line, file=out)
    return 0
