"""``--deploy-mode hyperpod``: what the project's image serves (do/lib/hyperpod.json, read by do/deploy), and
k8s/inference-endpoint-config.yaml built by the same function do/deploy applies it with."""

from __future__ import annotations

import dataclasses

import yaml

from mcc_lifecycle import hyperpod_manifest, policies
from mcc_lifecycle.hyperpod_manifest import Node, Workload

from .catalog import Catalog
from .plan_common import lifecycle_settings
from .render import PlannedFile
from .spec import ProjectSpec


def workload(spec: ProjectSpec, catalog: Catalog) -> Workload:
    """Predictive images serve no metrics; an engine's image serves its Prometheus route and queue gauge."""
    gen = spec.generation
    if not spec.generative or gen is None:
        return Workload()
    engine = catalog.engines[gen.engine]
    from_hub = gen.model_id if not gen.model_s3_uri else ""  # a Hub repo (a GGUF in it too) the engine fetches
    return Workload("generative", engine.metrics, engine.queue_metric, from_hub)


def hyperpod_files(spec: ProjectSpec, catalog: Catalog, startup_timeout_s: int) -> list[PlannedFile]:
    """do/lib/hyperpod.json always (DEPLOY_MODE can change in do/config); the manifest for hyperpod projects."""
    served = workload(spec, catalog)
    files = [PlannedFile(f"do/lib/{hyperpod_manifest.WORKLOAD_FILE}", served.to_json().encode())]
    if spec.deployment.mode != hyperpod_manifest.MODE:
        return files
    instance = catalog.instance(spec.deployment.instance_type)
    settings = dataclasses.replace(
        lifecycle_settings(spec),
        startup_timeout_s=startup_timeout_s,
        gpu_count=instance.gpus,
        neuron_cores=instance.neuron_cores,
        hf_token_secret_arn=spec.generation.hf_token_secret_arn if spec.generation else "",
    )
    account = policies.ACCOUNT_PLACEHOLDER  # do/deploy writes the file anew with the account and the pushed image
    settings = hyperpod_manifest.with_model_prefix(settings, served, account)
    image = f"{account}.dkr.ecr.{settings.aws_region}.amazonaws.com/{settings.repository}:latest"
    node = Node(instance.vcpus, instance.memory_gib, instance.gpus, instance.neuron_cores)
    document = hyperpod_manifest.manifest(settings, served, node, image)
    role = "".join(
        f"---\n{yaml.safe_dump(part, sort_keys=False)}" for part in hyperpod_manifest.deployer_role(settings)
    )
    return [
        *files,
        PlannedFile(hyperpod_manifest.MANIFEST_PATH, hyperpod_manifest.to_yaml(document).encode()),
        PlannedFile(hyperpod_manifest.ROLE_PATH, (ROLE_HEADER + role).encode()),
    ]


ROLE_HEADER = """# What do/deploy, do/status, do/logs and do/clean need in the namespace, for the group an EKS access
# entry maps the deployer to (README.md, 'HyperPod'); a cluster admin applies it:
#   kubectl apply --server-side -f k8s/deployer-role.yaml
"""
