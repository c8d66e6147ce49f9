"""``mcc catalog TABLE``: what the catalog offers, as a table to print."""

from __future__ import annotations

from rich.table import Table

from .catalog import Catalog, EngineVersion


def catalog_table(catalog: Catalog, table: str) -> Table:
    """``table``: frameworks, servers, engines, models, instances or regions."""
    listing = Table(title=f"mcc catalog {table}")
    if table == "frameworks":
        for column in ("name", "display name", "formats", "versions", "GPU image"):
            listing.add_column(column)
        for f in catalog.frameworks.values():
            listing.add_row(f.name, f.display_name, ", ".join(f.formats), ", ".join(f.versions), "yes" if f.gpu else "")
    elif table == "servers":
        for column in ("name", "display name"):
            listing.add_column(column)
        for s in catalog.servers.values():
            listing.add_row(s.name, s.display_name)
    elif table == "engines":
        for column in ("engine", "versions (CUDA or Neuron SDK; * default)", "runs on", "tasks", "routes"):
            listing.add_column(column)
        for e in catalog.engines.values():
            marks = {n: "*" if n == e.default_version else "" for n in e.versions}
            versions = [f"{n}{marks[n]} ({image_label(v)})" for n, v in e.versions.items()]
            listing.add_row(e.name, "\n".join(versions), ", ".join(e.accelerators), ", ".join(e.tasks), e.routes)
    elif table == "models":
        for column in ("model id", "parameters", "context", "architecture"):
            listing.add_column(column)
        for m in catalog.llm_models.values():
            listing.add_row(m.id, f"{m.params_b:g}B", str(m.context), m.architecture)
    elif table == "instances":
        for column in ("instance type", "vCPU", "memory GiB", "accelerators", "category"):
            listing.add_column(column)
        for i in catalog.instance_types.values():
            listing.add_row(
                i.name, str(i.vcpus), f"{i.memory_gib:g}", i.accelerators_label.removeprefix(", "), i.category
            )
    else:
        for column in ("region", "name", "partition"):
            listing.add_column(column)
        for r in catalog.regions.values():
            listing.add_row(r.code, r.name, r.partition)
    return listing


def image_label(version: EngineVersion) -> str:
    """An engine version's CUDA, or CPU; both where it has a CPU and a GPU image (``CPU; GPU 12.8``); an AWS
    Neuron image's Neuron SDK and instance families."""
    if version.neuron_sdk:
        families = ", ".join(f.removeprefix("ml.") for f in version.instance_families)
        return f"Neuron SDK {version.neuron_sdk}: {families}"
    gpu_cuda = version.gpu_cuda or (version.gpu_build.cuda if version.gpu_build else "")
    if version.cuda:
        return version.cuda
    return f"CPU; GPU {gpu_cuda}" if gpu_cuda else "CPU"
