"""How much accelerator memory a generative model needs, and which instances can hold it.

The estimate is what an engine must fit at start: the weights (parameters x bytes per parameter for the
dtype or quantization), a runtime overhead (activations, CUDA context and graphs), and the KV cache for
one sequence of the full context (vLLM refuses to start when even that does not fit). The KV cache is
known only for models in the catalog's curated list; for others only weights and overhead are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalog import Catalog, InstanceType, LlmModel
from .gguf_metadata import GgufModel

GIB = 2**30
BYTES_PER_PARAM = {"auto": 2.0, "float16": 2.0, "bfloat16": 2.0, "float32": 4.0}
QUANTIZED_BYTES_PER_PARAM = {"fp8": 1.0, "awq": 0.5, "gptq": 0.5, "bitsandbytes": 0.5}
KV_CACHE_BYTES = 2  # the engines' default KV cache dtype is the 16-bit activation dtype
RUNTIME_OVERHEAD = 0.10  # share of the weights
CPU_MEMORY_SHARE = 0.8  # of the instance's RAM a CPU engine may use for the model
NEURON_MEMORY_SHARE = 0.9  # of the NeuronCores' device memory: the rest holds the runtime and compiled graphs
PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bBmM]?)\s*$")


def parse_params(value: object) -> float:
    """Parameter count in billions: ``7B``, ``1.5b``, ``500M``, ``7`` (billions) or a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, unit = float(value), "b"
    else:
        match = PARAMS.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a parameter count such as 7B, 1.5B or 500M")
        number, unit = float(match.group(1)), match.group(2).lower() or "b"
    billions = number / 1000 if unit == "m" else number
    if billions <= 0:
        raise ValueError(f"{value!r}: the parameter count must be positive")
    return billions


@dataclass(frozen=True)
class Estimate:
    weights_gib: float
    kv_cache_gib: float
    context: int | None  # tokens the KV cache was sized for; None when the architecture is unknown

    @property
    def overhead_gib(self) -> float:
        return self.weights_gib * RUNTIME_OVERHEAD

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.overhead_gib + self.kv_cache_gib

    def describe(self) -> str:
        kv = f" + KV cache {self.kv_cache_gib:.1f} GiB for a {self.context}-token sequence" if self.context else ""
        return (
            f"about {self.total_gib:.1f} GiB (weights {self.weights_gib:.1f} GiB{kv} "
            f"+ {RUNTIME_OVERHEAD:.0%} runtime overhead)"
        )


def estimate(
    params_b: float, dtype: str, quantization: str, model: LlmModel | None, max_model_len: int | None
) -> Estimate:
    per_param = QUANTIZED_BYTES_PER_PARAM.get(quantization) or BYTES_PER_PARAM[dtype]
    weights = params_b * 1e9 * per_param / GIB
    if model is None or not model.kv_heads:
        return Estimate(weights, 0.0, None)
    context = min(max_model_len or model.context, model.context)
    per_token = 2 * model.layers * model.kv_heads * model.head_dim * KV_CACHE_BYTES  # keys and values
    return Estimate(weights, per_token * context / GIB, context)


def gguf_estimate(model: GgufModel, max_model_len: int | None) -> Estimate:
    """A GGUF model: its file's bytes are the weights (quantized as stored), the KV cache (f16) for
    ``max_model_len`` tokens or the model's trained context."""
    context = max_model_len or model.context_length
    if model.context_length:
        context = min(context, model.context_length)
    kv = model.kv_cache_bytes(context) if context else 0
    return Estimate(model.file_bytes / GIB, kv / GIB, context if kv else None)


def usable_gib(instance: InstanceType, units: int, utilization: float) -> float:
    """Accelerator memory the engine may use on ``units`` of the instance's GPUs or NeuronCores (see
    accelerator_units; RAM share for CPU instances)."""
    if instance.gpus:
        return instance.gpu_memory_gib * units * utilization
    if instance.neuron_chips:
        return instance.neuron_core_memory_gib * units * NEURON_MEMORY_SHARE
    return instance.memory_gib * CPU_MEMORY_SHARE


def accelerator_units(instance: InstanceType) -> int:
    """What a model is sharded over: the GPUs, or the NeuronCores; 0 on CPU instances."""
    return instance.gpus or instance.neuron_cores


def fits(need: Estimate, instance: InstanceType, units: int, utilization: float) -> bool:
    return need.total_gib <= usable_gib(instance, units, utilization)


def cheapest_fitting(catalog: Catalog, need: Estimate, utilization: float, limit: int = 3) -> list[InstanceType]:
    """GPU instances that hold the model on all their GPUs, cheapest first; those without a recorded price
    after them, least GPU memory first."""
    candidates = [t for t in catalog.instance_types.values() if t.gpus and fits(need, t, t.gpus, utilization)]
    unpriced = float("inf")
    return sorted(candidates, key=lambda t: (t.usd_per_hour or unpriced, t.gpus * t.gpu_memory_gib, t.name))[:limit]


def smallest_neuron_fitting(
    catalog: Catalog, need: Estimate, families: tuple[str, ...] = (), limit: int = 3
) -> list[InstanceType]:
    """Neuron instances (of ``families``, when given) that hold the model on all their NeuronCores, least device
    memory first."""
    candidates = [
        t
        for t in catalog.instance_types.values()
        if t.neuron_chips and (not families or t.family in families) and fits(need, t, t.neuron_cores, 1.0)
    ]
    return sorted(candidates, key=lambda t: (t.neuron_chips * t.neuron_memory_gib, t.vcpus, t.name))[:limit]


def smallest_cpu_fitting(catalog: Catalog, need: Estimate, limit: int = 3) -> list[InstanceType]:
    """x86_64 CPU instances (the engines' images are linux/amd64) whose memory holds the model, smallest memory
    (then fewest vCPUs) first."""
    candidates = [
        t
        for t in catalog.instance_types.values()
        if t.accelerator == "cpu" and t.architecture == "x86_64" and fits(need, t, 0, 1.0)
    ]
    return sorted(candidates, key=lambda t: (t.memory_gib, t.vcpus, t.name))[:limit]


def offer(instance: InstanceType) -> str:
    """``ml.g5.12xlarge (4x A10G 24 GiB, ~$7.09/h)``."""
    price = f"~${instance.usd_per_hour:g}/h" if instance.usd_per_hour else "price not recorded"
    return f"{instance.name} ({instance.accelerators_label.removeprefix(', ')}, {price})"
