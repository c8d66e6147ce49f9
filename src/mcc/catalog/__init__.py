"""The catalog: frameworks, web servers, instance types, regions — data in ``data/*.yaml``, typed here.

Prompts, CLI choices, validation and templates all read it; nothing else lists these things.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcc_lifecycle import amis, platforms

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: the catalog loads ~10x faster

DATA_DIR = Path(__file__).parent / "data"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!*-]+)$")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFormat(_Entry):
    name: str
    extensions: tuple[str, ...]
    description: str
    directory: bool = False  # saved as a directory (e.g. a TensorFlow SavedModel)
    check: str | None = None  # the structural check mcc/artifacts.py runs before anything is written


class GpuImage(_Entry):
    """The CUDA-enabled base used on GPU instances; it already holds the ``provided`` packages."""

    base_image: str
    cuda: str
    nginx_package: str
    provided: tuple[str, ...]


class OnnxSupport(_Entry):
    """The newest ONNX IR version and operator set versions (by domain, "" = ai.onnx) an onnxruntime loads."""

    ir_version: int
    opsets: dict[str, int]

    def unsupported(self, ir_version: int, opsets: dict[str, int]) -> list[str]:
        """What a model needs beyond these (["IR version 14 (loads up to 13)", ...])."""
        problems = [f"IR version {ir_version} (loads up to {self.ir_version})"] if ir_version > self.ir_version else []
        for domain, version in sorted(opsets.items()):
            newest = self.opsets.get(domain)
            if newest is not None and version > newest:
                problems.append(f"{domain or 'ai.onnx'} opset {version} (loads up to {newest})")
        return problems


class FrameworkVersion(_Entry):
    requirements: tuple[str, ...]
    # Where its pinned closure installs: arm64 (Graviton) where every pin has an aarch64 wheel
    # (tests/e2e/test_graviton.py resolves it for aarch64 with pip and finds the same pins).
    architectures: tuple[Literal["x86_64", "arm64"], ...] = ("x86_64",)
    extra_index_url: str | None = None
    gpu: GpuImage | None = None
    onnx: OnnxSupport | None = None  # onnxruntime: what its models may need


class Image(_Entry):
    """What the Dockerfile is built from, for one framework version on one accelerator."""

    accelerator: Literal["cpu", "gpu"]
    base_image: str
    nginx_package: str
    system_packages: tuple[str, ...]
    extra_index_url: str | None = None
    cuda: str | None = None


class SampleModel(_Entry):
    trainer: str
    description: str


class OlderReleases(_Entry):
    """Releases below ``below`` that the catalog does not pin: what pip's resolver must be told about them."""

    below: str
    constraints: tuple[str, ...] = ()  # e.g. numpy<2 for wheels built before NumPy 2's ABI
    package: str | None = None  # the distribution that holds them, where the framework's own starts later


class Framework(_Entry):
    name: str
    display_name: str
    package: str  # the distribution whose version is the framework version (pip name)
    kind: Literal["predictive"]
    handler: str
    preload: bool
    row_independent: bool = False  # its handler batches requests (mcc_runtime.handlers.*.row_independent)
    system_packages: tuple[str, ...] = ()
    gpu: bool = False  # has a GPU image (versions[*].gpu)
    tabular: bool = False  # its models may take a pandas DataFrame (fitted on one): pandas where mcc cannot tell
    input_types: tuple[str, ...] = ()  # request types beyond CSV, JSON, JSON Lines and NPY (e.g. text/libsvm)
    default_format: str
    formats: dict[str, ModelFormat]
    default_version: str
    versions: dict[str, FrameworkVersion]
    sample: SampleModel | None = None
    recorded_as: str | None = None  # the distribution whose version artifacts record (mcc/training_version.py)
    companions: tuple[str, ...] = ()  # packages the image holds beside the framework's own dependencies
    older_releases: tuple[OlderReleases, ...] = ()

    @model_validator(mode="after")
    def _defaults_exist(self) -> Framework:
        if self.default_format not in self.formats:
            raise ValueError(f"{self.name}: default_format {self.default_format!r} is not among its formats")
        if self.default_version not in self.versions:
            raise ValueError(f"{self.name}: default_version {self.default_version!r} is not among its versions")
        for version, entry in self.versions.items():
            if self.gpu != (entry.gpu is not None):
                raise ValueError(f"{self.name} {version}: `gpu: {self.gpu}` needs a gpu image exactly when true")
        return self

    def tested(self, version: str) -> bool:
        """Whether ``version`` is one the catalog pins (and CI tests); any other release is resolved by pip."""
        return version in self.versions

    def release_requirements(self, version: str) -> tuple[str, ...]:
        """What pip resolves for a release the catalog does not pin: the package and the constraints its age
        needs (ordered from the oldest ``below``; each one that applies adds its constraints)."""
        from packaging.version import Version

        package, constraints = self.package, []
        for older in self.older_releases:
            if Version(version) < Version(older.below):
                constraints += older.constraints
                package = older.package or package
        return (f"{package}=={version}", *constraints)

    def format_for(self, filename: str) -> str | None:
        """The format whose extensions match ``filename``, if any."""
        lower = filename.lower()
        return next((f.name for f in self.formats.values() if f.extensions and lower.endswith(f.extensions)), None)

    def format_for_path(self, path: Path) -> str | None:
        """The format of a model file, or of a model directory (the framework's directory format)."""
        if path.is_dir():
            return next((f.name for f in self.formats.values() if f.directory), None)
        return self.format_for(path.name)


class WebServer(_Entry):
    name: str
    display_name: str
    app: str
    worker_class: str
    requirements: tuple[str, ...]


class InstanceType(_Entry):
    name: str
    family: str
    category: str
    vcpus: int = Field(gt=0)
    memory_gib: float = Field(gt=0)
    gpus: int = 0
    gpu_memory_gib: float = 0
    gpu_model: str = ""
    gpu_compute_capability: float = 0
    neuron_chip: str = ""  # AWS Neuron accelerators: Inferentia2, Trainium, Trainium2
    neuron_chips: int = 0
    neuron_cores_per_chip: int = 0  # as the Neuron runtime counts them (logical NeuronCores)
    neuron_memory_gib: float = 0  # of one chip
    usd_per_hour: float | None = None  # approximate list price, for ranking only
    listed: bool = True  # False: a SageMaker type the catalog has no data for (vCPUs and memory estimated)

    @property
    def label(self) -> str:
        return f"{self.name}  ({self.vcpus} vCPU, {self.memory_gib:g} GiB{self.accelerators_label}, {self.category})"

    @property
    def accelerators_label(self) -> str:
        """``, 4x A10G 24 GiB`` or ``, 1x Inferentia2 32 GiB (2 NeuronCores)``; empty without accelerators."""
        if self.gpus:
            return f", {self.gpus}x {self.gpu_model} {self.gpu_memory_gib:g} GiB"
        if self.neuron_chips:
            chips = f"{self.neuron_chips}x {self.neuron_chip} {self.neuron_memory_gib:g} GiB"
            return f", {chips} ({self.neuron_cores} NeuronCores)"
        return ""

    @property
    def accelerator(self) -> Literal["cpu", "gpu", "neuron"]:
        return "gpu" if self.gpus else "neuron" if self.neuron_chips else "cpu"

    @property
    def neuron_cores(self) -> int:
        return self.neuron_chips * self.neuron_cores_per_chip

    @property
    def neuron_core_memory_gib(self) -> float:
        """The device memory one NeuronCore's shard of a model may use."""
        return self.neuron_memory_gib / self.neuron_cores_per_chip if self.neuron_cores_per_chip else 0.0

    @property
    def platform(self) -> str:
        """The platform of the images it runs: linux/arm64 on Graviton, else linux/amd64."""
        return platforms.instance_platform(self.name)

    @property
    def architecture(self) -> Literal["x86_64", "arm64"]:
        return "arm64" if self.platform == platforms.ARM64 else "x86_64"


ACCELERATED_FAMILY = re.compile(r"^ml\.(p\d|g\d|inf\d|trn\d|dl\d)")  # GPUs, Inferentia, Trainium, Gaudi
GIB_PER_VCPU = {"c": 2, "m": 4, "t": 4, "r": 8, "z": 8, "x": 16}  # AWS's memory per vCPU in each family class
SIZE = re.compile(r"^(\d*)xlarge$")
VCPUS_OF_SIZE = {"medium": 1, "large": 2}  # xlarge: 4, Nxlarge: 4N


@lru_cache(maxsize=1)
def hosting_instance_types() -> frozenset[str]:
    """Every instance type SageMaker hosting takes: the ProductionVariantInstanceType enum of botocore's
    SageMaker model, as mcc recorded it, and the installed botocore's where that is newer."""
    lines = (DATA_DIR / "sagemaker_instance_types.txt").read_text().splitlines()
    names = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    try:
        import botocore.session

        model = botocore.session.get_session().get_service_model("sagemaker")
        names |= set(model.shape_for("ProductionVariantInstanceType").enum)
    except Exception:
        pass
    return frozenset(names)


def unlisted_instance(name: str) -> InstanceType | None:
    """A SageMaker CPU instance type the catalog has no data for (x86_64 or Graviton): vCPUs from its size
    (medium = 1, large = 2, xlarge = 4, Nxlarge = 4N) and memory from its family class's GiB per vCPU. None when
    neither can be told (accelerated or unknown families, metal sizes)."""
    family, _, size = name.rpartition(".")
    ratio = GIB_PER_VCPU.get(family.removeprefix("ml.")[:1])
    if ACCELERATED_FAMILY.match(family) or ratio is None:
        return None
    match = SIZE.match(size)
    vcpus = VCPUS_OF_SIZE.get(size) or (4 * int(match.group(1) or 1) if match else None)
    if vcpus is None:
        return None
    return InstanceType(
        name=name, family=family, category="not in mcc's catalog", vcpus=vcpus, memory_gib=vcpus * ratio, listed=False
    )


class Region(_Entry):
    code: str
    name: str
    partition: Literal["aws", "aws-cn", "aws-us-gov"]
    dlc_account: str | None = None  # whose ECR registry holds AWS's deep learning containers here

    @property
    def dlc_registry(self) -> str | None:
        """The registry of AWS's deep learning container images in this Region, None where there is none."""
        if self.dlc_account is None:
            return None
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"{self.dlc_account}.dkr.ecr.{self.code}.{suffix}"


def image_in(image: str, region: Region) -> str:
    """An engine image's name in ``region``: its {region} and {dlc_registry} filled in."""
    return image.format(region=region.code, dlc_registry=region.dlc_registry)


class RuntimeBase(_Entry):
    python_version: str
    glibc: str  # the base image's C library: the newest manylinux wheels it runs
    base_image: str
    nginx_package: str
    service_user: str
    service_uid: int
    requirements: tuple[str, ...]
    dataframe_requirements: tuple[str, ...]
    test_requirements: tuple[str, ...]
    tool_requirements: tuple[str, ...]
    script_requirements: tuple[str, ...] = ()  # the do/ scripts' own beyond boto3 (not in any image)


class PipEngineImage(_Entry):
    """How a pip-installed engine's image is built on one kind of instance: the bases, the builder stage's
    compilers and environment, and the runtime's system packages."""

    image: str  # the runtime base
    cuda: str = ""
    build_image: str = ""  # the builder stage's base (empty: the runtime base)
    build_packages: tuple[str, ...] = ()  # the builder stage's system packages (compilers)
    build_env: tuple[str, ...] = ()  # the builder stage's environment (e.g. CMAKE_ARGS)
    system_packages: tuple[str, ...] = ()  # the runtime's system packages beyond nginx (e.g. OpenMP's runtime)
    nginx_package: str = ""  # empty: the runtime table's (Debian's)
    python_packages: tuple[str, ...] = ()  # a base without Python: its OS's, in a virtualenv at /opt/venv


class EngineVersion(_Entry):
    image: str  # may hold {region}, or {dlc_registry}: AWS's deep learning container registry of the Region
    cuda: str
    nginx_package: str = ""  # proxied engines: nginx from the image's OS, pinned
    cpu_image: str | None = None  # engines with a separate CPU image
    extra_index_url: str | None = None
    gpu_image: str | None = None  # runtime engines: the CUDA base on GPU instances
    gpu_cuda: str | None = None
    gpu_provided: tuple[str, ...] = ()
    quantizations: dict[str, str] | None = None  # this version's, where they differ from the engine's
    options_file: str = ""  # data/engine_options/<file>: every option this version's parser takes (one a line)
    requirements: tuple[str, ...] = ()  # engines pip installs: the pinned closure installed into the image
    source_builds: tuple[str, ...] = ()  # of those, the ones without wheels: built in a builder stage
    build_packages: tuple[str, ...] = ()  # the builder stage's system packages (compilers)
    build_env: tuple[str, ...] = ()  # the builder stage's environment (e.g. CMAKE_ARGS)
    system_packages: tuple[str, ...] = ()  # the runtime's system packages beyond nginx (e.g. OpenMP's runtime)
    gpu_build: PipEngineImage | None = None  # source-built engines on GPU instances: compiled for CUDA
    neuron_sdk: str = ""  # AWS Neuron engines: the Neuron SDK release of the image…
    instance_families: tuple[str, ...] = ()  # …and the instance families it supports (empty: any)

    def runs_on(self, family: str) -> bool:
        return not self.instance_families or family in self.instance_families

    def pip_image(self, gpu: bool) -> PipEngineImage:
        """How this pip-installed version's image is built on a GPU or a CPU instance."""
        if gpu and self.gpu_build:
            return self.gpu_build
        return PipEngineImage(
            image=self.image,
            build_packages=self.build_packages,
            build_env=self.build_env,
            system_packages=self.system_packages,
            nginx_package=self.nginx_package,
        )


class Engine(_Entry):
    """A generative serving engine: its image, how SageMaker's contract reaches it, and its options."""

    name: str
    display_name: str
    accelerators: tuple[Literal["cpu", "gpu", "neuron"], ...]
    tasks: tuple[str, ...]
    default_version: str
    versions: dict[str, EngineVersion]
    routes: Literal["native", "proxy", "runtime"]
    proxy: dict[str, str] = {}  # routes: proxy -> {"ping": engine route, "invocations": engine route}
    runs_as_root: str = ""  # why the engine keeps root (the image's own entrypoint); empty: privileges drop
    style: Literal["argv", "env", "properties", "runtime"]
    command: tuple[str, ...]
    model_flag: str
    options: dict[str, str]
    switches: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    gpu_fixed: tuple[str, ...] = ()  # flags or variables always set on GPU instances (e.g. offload every layer)
    file_flag: str = ""
    file_options: dict[str, str] = {}
    dtypes: dict[str, str]
    quantizations: dict[str, str]
    architectures: tuple[str, ...] = ()  # empty: any architecture
    base_image_user: str = ""  # an unprivileged user the engine's image already has
    task_option: str = ""  # properties engines: the key that says the task…
    task_values: dict[str, str] = {}  # …and its value per task
    model_file_format: str = ""  # engines that serve one model file (gguf): --gguf-file names it
    repo_flag: str = ""  # …and the flag for the Hub repository holding it (the file goes with model_flag)
    lora_modules_flag: str = ""  # the flag that names local LoRA adapters (NAME=PATH …), with LoRA on
    metrics: str = ""  # the engine's Prometheus route (on the container's port; nginx forwards it where proxied)
    queue_metric: str = ""  # its Prometheus gauge of requests waiting for the engine (HyperPod autoscaling)
    neuron_variant: str = ""  # the engine serving the same way on AWS Inferentia2 and Trainium

    @model_validator(mode="after")
    def _consistent(self) -> Engine:
        if self.default_version not in self.versions:
            raise ValueError(f"{self.name}: default_version {self.default_version!r} is not among its versions")
        if (self.routes == "proxy") != bool(self.proxy):
            raise ValueError(f"{self.name}: `proxy` routes are needed exactly when routes is proxy")
        unknown = set(self.switches) - set(self.options)
        if unknown:
            raise ValueError(f"{self.name}: switches {sorted(unknown)} are not options")
        return self

    def quantizations_for(self, version: str) -> dict[str, str]:
        """Our quantization -> the engine's value ("": detected from the checkpoint, not passed)."""
        own = self.versions[version].quantizations
        return self.quantizations if own is None else own

    def known_options(self, version: str) -> frozenset[str] | None:
        """Every option the version's own parser takes, where the catalog records them; None where not."""
        name = self.versions[version].options_file
        if not name:
            return None
        lines = (DATA_DIR / "engine_options" / name).read_text().splitlines()
        return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))

    def settable(self, option: str) -> bool:
        return option in self.options or option in self.file_options

    def serves(self, architecture: str) -> bool:
        return not self.architectures or architecture in self.architectures


class InferenceAmi(_Entry):
    """A SageMaker inference AMI: its NVIDIA driver and the newest CUDA that driver runs."""

    name: str
    driver: str
    cuda: str


class GenerativeFramework(_Entry):
    name: str
    display_name: str
    default_engine: str


class LlmModel(_Entry):
    """A model whose size is known: enough to estimate its weights and KV cache."""

    id: str
    params_b: float = Field(gt=0)
    layers: int
    kv_heads: int
    head_dim: int
    context: int
    architecture: str
    gated: bool = False  # its files need a Hugging Face token with access


class Catalog(_Entry):
    frameworks: dict[str, Framework]
    default_framework: str
    servers: dict[str, WebServer]
    default_server: str
    instance_types: dict[str, InstanceType]
    default_instance_type: str
    regions: dict[str, Region]
    default_region: str
    runtime: RuntimeBase
    generative: dict[str, GenerativeFramework] = {}
    engines: dict[str, Engine] = {}
    default_engine: str = ""
    dtypes: tuple[str, ...] = ()
    quantizations: tuple[str, ...] = ()
    tasks: dict[str, str] = {}
    llm_models: dict[str, LlmModel] = {}
    inference_amis: dict[str, InferenceAmi] = {}

    def instance(self, name: str) -> InstanceType | None:
        """The catalog's instance type, or a SageMaker CPU type it has no data for (estimated); None otherwise."""
        listed = self.instance_types.get(name)
        if listed is not None or name not in hosting_instance_types():
            return listed
        return unlisted_instance(name)

    def inference_ami_for(self, cuda: str) -> InferenceAmi | None:
        """The first AMI (oldest driver) whose CUDA covers an image built for ``cuda``."""
        return next((a for a in self.inference_amis.values() if amis.covers(a.cuda, cuda)), None)

    @property
    def framework_names(self) -> list[str]:
        """Predictive and generative frameworks, as --framework takes them."""
        return [*self.frameworks, *self.generative]

    def framework_for_path(self, path: Path) -> str | None:
        """The predictive framework a model file's name (or a model directory) says: the default framework when
        it is one of those that read it (.joblib, .pkl), else the only one; None when none does."""
        readers = [name for name, framework in self.frameworks.items() if framework.format_for_path(path)]
        if self.default_framework in readers:
            return self.default_framework
        return readers[0] if len(readers) == 1 else None

    def is_generative(self, framework: str) -> bool:
        return framework in self.generative

    @model_validator(mode="after")
    def _defaults_exist(self) -> Catalog:
        for default, table in (
            (self.default_framework, self.frameworks),
            (self.default_server, self.servers),
            (self.default_instance_type, self.instance_types),
            (self.default_region, self.regions),
        ):
            if default not in table:
                raise ValueError(f"catalog default {default!r} is not in its table")
        engines = [self.default_engine] if self.engines else []
        for name in [*engines, *(g.default_engine for g in self.generative.values())]:
            if name not in self.engines:
                raise ValueError(f"default engine {name!r} is not in the catalog's engines")
        for engine in self.engines.values():
            variant = self.engines.get(engine.neuron_variant)
            if engine.neuron_variant and (variant is None or "neuron" not in variant.accelerators):
                raise ValueError(f"{engine.name}: neuron_variant {engine.neuron_variant!r} is not a Neuron engine")
        return self

    def requirements(
        self, framework: str, version: str, server: str, accelerator: str = "cpu", dataframe: bool = False
    ) -> list[str]:
        """The image's pinned requirements: runtime + framework version + web server (+ pandas for models that
        take a DataFrame), merged. On a GPU image, the packages its base already holds (in their CUDA build)
        are left out."""
        entry = self.frameworks[framework].versions[version]
        provided = {_normalized(p) for p in entry.gpu.provided} if accelerator == "gpu" and entry.gpu else set()
        frame = self.runtime.dataframe_requirements if dataframe else ()
        pins = merge_pins(self.runtime.requirements, entry.requirements, self.servers[server].requirements, frame)
        return [line for line in pins if _normalized(PIN.match(line).group(1)) not in provided]

    def image(self, framework: str, version: str, accelerator: str) -> Image:
        """The base image and system packages for a framework version on ``accelerator``."""
        fw = self.frameworks[framework]
        # a release the catalog does not pin (CPU only) is built like the default one
        entry = fw.versions.get(version) or fw.versions[fw.default_version]
        if accelerator == "gpu":
            if entry.gpu is None or version not in fw.versions:
                raise ValueError(f"{fw.display_name} {version} has no GPU image")
            gpu = entry.gpu
            return Image(
                accelerator="gpu",
                base_image=gpu.base_image,
                nginx_package=gpu.nginx_package,
                system_packages=fw.system_packages,
                cuda=gpu.cuda,
            )
        return Image(
            accelerator="cpu",
            base_image=self.runtime.base_image,
            nginx_package=self.runtime.nginx_package,
            system_packages=fw.system_packages,
            extra_index_url=entry.extra_index_url,
        )

    def dev_requirements(self) -> list[str]:
        """requirements-dev.txt beyond the image's: pytest for the tests, boto3 and PyYAML for the do/ scripts."""
        runtime = self.runtime
        return merge_pins(runtime.test_requirements, runtime.tool_requirements, runtime.script_requirements)


def merge_pins(*groups: tuple[str, ...]) -> list[str]:
    """Union of ``name==version`` pins, sorted by name; the same package pinned twice must agree."""
    pins: dict[str, tuple[str, str]] = {}  # normalized name -> (line, version)
    for group in groups:
        for line in group:
            match = PIN.match(line)
            if not match:
                raise ValueError(f"requirement {line!r} is not pinned as name==version")
            name = _normalized(match.group(1))
            first, version = pins.setdefault(name, (line, match.group(2)))
            if version != match.group(2):
                raise ValueError(f"conflicting pins: {first} and {line}")
    return [pins[name][0] for name in sorted(pins)]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _flat(items: list) -> tuple[str, ...]:
    """Requirement lists may include YAML-aliased lists (a shared closure); flatten them."""
    return tuple(x for item in items for x in (_flat(item) if isinstance(item, list) else (item,)))


def _framework(name: str, entry: dict) -> Framework:
    versions = {
        version: FrameworkVersion(**{**data, "requirements": _flat(data["requirements"])})
        for version, data in entry["versions"].items()
    }
    formats = {f: ModelFormat(name=f, **fmt) for f, fmt in entry["formats"].items()}
    rest = {k: v for k, v in entry.items() if k not in ("formats", "versions")}
    return Framework(name=name, **rest, formats=formats, versions=versions)


def _read(name: str) -> dict:
    return yaml.load((DATA_DIR / f"{name}.yaml").read_text(), Loader=SAFE_LOADER)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    frameworks, servers, instances = _read("frameworks"), _read("servers"), _read("instances")
    regions, runtime, engines, llm = _read("regions"), _read("runtime"), _read("engines"), _read("llm_models")
    instance_types = {
        f"{family}.{size}": InstanceType(
            name=f"{family}.{size}",
            family=family,
            category=spec["category"],
            gpu_memory_gib=spec.get("gpu_memory_gib", 0),
            gpu_model=spec.get("gpu_model", ""),
            gpu_compute_capability=spec.get("gpu_compute_capability", 0),
            neuron_chip=spec.get("neuron_chip", ""),
            neuron_cores_per_chip=spec.get("neuron_cores_per_chip", 0),
            neuron_memory_gib=spec.get("neuron_memory_gib", 0),
            **dims,
        )
        for family, spec in instances["families"].items()
        for size, dims in spec["sizes"].items()
    }
    return Catalog(
        frameworks={name: _framework(name, entry) for name, entry in frameworks["frameworks"].items()},
        default_framework=frameworks["default"],
        servers={name: WebServer(name=name, **entry) for name, entry in servers["servers"].items()},
        default_server=servers["default"],
        instance_types=instance_types,
        default_instance_type=instances["default"],
        regions={code: Region(code=code, **entry) for code, entry in regions["regions"].items()},
        default_region=regions["default"],
        runtime=RuntimeBase(**runtime),
        generative={n: GenerativeFramework(name=n, **e) for n, e in engines["generative"].items()},
        engines={n: Engine(name=n, **e) for n, e in engines["engines"].items()},
        default_engine=engines["default_engine"],
        dtypes=tuple(engines["dtypes"]),
        quantizations=tuple(engines["quantizations"]),
        tasks=engines["tasks"],
        llm_models={i: LlmModel(id=i, **m) for i, m in llm["models"].items()},
        inference_amis={n: InferenceAmi(name=n, **a) for n, a in engines["inference_amis"].items()},
    )
