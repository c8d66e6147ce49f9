import importlib.metadata
import itertools

import pytest
from pydantic import ValidationError

from mcc import samples, sizing
from mcc.artifacts import CHECKS
from mcc.catalog import Catalog, Framework, load_catalog, merge_pins
from mcc_runtime.handlers import load_handler

REQUIRED_FAMILIES = ("ml.m5", "ml.m6i", "ml.m7i", "ml.c5", "ml.c6i", "ml.c7i", "ml.r5")


def test_catalog_loads_with_its_defaults(catalog):
    assert catalog.default_framework in catalog.frameworks
    assert catalog.default_server in catalog.servers
    assert catalog.default_instance_type in catalog.instance_types
    assert catalog.default_region in catalog.regions
    assert load_catalog() is catalog  # loaded once


def test_scikit_learn_formats_and_sample(catalog):
    sklearn = catalog.frameworks["sklearn"]
    assert set(sklearn.formats) == {"pkl", "joblib", "sagemaker"}
    assert sklearn.format_for("m.JOBLIB") == "joblib"
    assert sklearn.format_for("sklearn-model") == "sagemaker"  # SageMaker's extension-less name
    assert sklearn.format_for("m.pickle") == "pkl"
    assert sklearn.format_for("m.onnx") is None
    assert sklearn.sample is not None


def test_web_servers(catalog):
    assert set(catalog.servers) == {"flask", "fastapi"}
    assert catalog.servers["flask"].worker_class == "sync"
    assert "Uvicorn" in catalog.servers["fastapi"].worker_class


@pytest.mark.parametrize("family", REQUIRED_FAMILIES)
def test_cpu_instance_families(catalog, family):
    sizes = [i for i in catalog.instance_types.values() if i.family == family]
    assert len(sizes) >= 4
    large = catalog.instance_types[f"{family}.large"]
    assert large.vcpus == 2 and large.memory_gib in (4, 8, 16) and large.gpus == 0
    assert catalog.instance_types[f"{family}.xlarge"].vcpus == 4


def test_regions_carry_their_partition(catalog):
    assert catalog.regions["us-east-1"].partition == "aws"
    assert catalog.regions["cn-north-1"].partition == "aws-cn"
    assert catalog.regions["us-gov-west-1"].partition == "aws-us-gov"
    assert len(catalog.regions) >= 30


def test_every_framework_has_a_runtime_handler_and_a_sample_trainer(catalog):
    for framework in catalog.frameworks.values():
        handler = load_handler(framework.handler)
        assert callable(handler.load) and callable(handler.predict)
        if framework.sample:
            assert framework.sample.trainer in samples.TRAINERS


def test_the_catalog_says_row_independent_exactly_for_the_handlers_that_batch(catalog):
    for framework in catalog.frameworks.values():
        handler = load_handler(framework.handler)
        assert framework.row_independent == callable(getattr(handler, "row_independent", None)), framework.name


def test_every_framework_version_pins_its_own_package(catalog):
    for framework in catalog.frameworks.values():
        for version, entry in framework.versions.items():
            pinned = {line.split("+")[0] for line in entry.requirements}  # torch==2.13.0+cpu is 2.13.0
            assert f"{framework.package}=={version}" in pinned


def test_every_handler_offers_probabilities_and_every_format_check_exists(catalog):
    for framework in catalog.frameworks.values():
        handler = load_handler(framework.handler)
        assert callable(handler.has_proba) and callable(handler.predict_proba)
        for model_format in framework.formats.values():
            assert model_format.check is None or model_format.check in CHECKS
            assert model_format.directory or model_format.extensions


def test_gpu_frameworks_leave_out_what_their_base_image_holds(catalog):
    for framework in (f for f in catalog.frameworks.values() if f.gpu):
        for version, entry in framework.versions.items():
            cpu = catalog.requirements(framework.name, version, "flask", "cpu")
            gpu = catalog.requirements(framework.name, version, "flask", "gpu")
            left_out = {line.split("==")[0] for line in set(cpu) - set(gpu)}
            assert left_out == set(entry.gpu.provided)
            image = catalog.image(framework.name, version, "gpu")
            assert ":" in image.base_image and image.cuda and image.accelerator == "gpu"
    with pytest.raises(ValueError, match="no GPU image"):
        catalog.image("xgboost", "3.2.0", "gpu")


def test_gpu_instance_types_carry_their_gpus(catalog):
    assert catalog.instance_types["ml.g5.12xlarge"].gpus == 4
    assert catalog.instance_types["ml.g5.12xlarge"].gpu_memory_gib == 24
    assert catalog.instance_types["ml.p4d.24xlarge"].accelerator == "gpu"
    assert catalog.instance_types["ml.m5.large"].accelerator == "cpu"
    for family in ("ml.g4dn", "ml.g5", "ml.g6", "ml.g6e", "ml.p4d", "ml.p5"):
        assert any(i.family == family and i.gpus for i in catalog.instance_types.values())


def test_every_requirement_combination_merges_without_conflict(catalog):
    for framework, server in itertools.product(catalog.frameworks.values(), catalog.servers.values()):
        for version in framework.versions:
            pins = catalog.requirements(framework.name, version, server.name)
            assert all("==" in p for p in pins)
            assert "gunicorn==" in " ".join(pins)


def test_tests_train_models_with_the_versions_the_image_pins(catalog):
    """Pickles load reliably only under the version that wrote them."""
    pins = dict(p.split("==") for p in catalog.requirements("sklearn", "1.9.1", "flask"))
    for package in ("scikit-learn", "numpy", "joblib", "orjson", "flask", "gunicorn"):
        assert importlib.metadata.version(package) == pins[package], package


def test_merge_pins_refuses_conflicts_and_unpinned_lines():
    assert merge_pins(("b==1", "A==2"), ("a==2",)) == ["A==2", "b==1"]
    with pytest.raises(ValueError, match="conflicting pins"):
        merge_pins(("numpy==1.0",), ("numpy==2.0",))
    with pytest.raises(ValueError, match="not pinned"):
        merge_pins(("numpy>=1",))


def test_catalog_entries_are_validated(catalog):
    with pytest.raises(ValidationError, match="default_format"):
        Framework(
            name="x",
            display_name="X",
            package="x",
            kind="predictive",
            handler="x",
            preload=True,
            default_format="zip",
            formats={},
            default_version="1",
            versions={"1": {"requirements": []}},
        )
    with pytest.raises(ValidationError, match="not in its table"):
        Catalog(**{**catalog.model_dump(), "default_region": "mars-1"})
    engines = catalog.model_dump()["engines"]
    engines["vllm"]["neuron_variant"] = "sglang"
    with pytest.raises(ValidationError, match="neuron_variant 'sglang' is not a Neuron engine"):
        Catalog(**{**catalog.model_dump(), "engines": engines})


def test_every_engine_is_pinned_and_lists_only_options_the_launcher_knows(catalog):
    from mcc.catalog import image_in
    from mcc_runtime.llm.launch import OPTIONS

    for engine in catalog.engines.values():
        assert set(engine.options) | set(engine.file_options) <= set(OPTIONS), engine.name
        for version in engine.versions.values():
            image = image_in(version.image, catalog.regions["us-east-1"])
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
            if "gpu" in engine.accelerators and "cpu" not in engine.accelerators:
                assert version.cuda, f"{engine.name}: record the image's CUDA version"
        assert set(engine.dtypes) <= set(catalog.dtypes) and set(engine.quantizations) <= set(catalog.quantizations)
        assert set(engine.tasks) <= set(catalog.tasks)
        for name in engine.versions:
            assert set(engine.quantizations_for(name)) <= set(catalog.quantizations), (engine.name, name)
            known = engine.known_options(name)
            assert known is None or set(engine.options.values()) <= known, (engine.name, name)
        assert bool(engine.model_file_format) == bool(engine.repo_flag), engine.name


def test_engines_installed_with_pip_pin_what_the_projects_test_requirements_pin(catalog):
    dev = dict(r.split("==", 1) for r in catalog.dev_requirements())
    for engine in catalog.engines.values():
        for name, version in engine.versions.items():
            pins = dict(r.split("==", 1) for r in version.requirements)
            clashes = {p: (v, dev[p]) for p, v in pins.items() if p in dev and dev[p].split("+")[0] != v.split("+")[0]}
            assert clashes == {}, (engine.name, name)
            assert {r.split("==")[0] for r in version.source_builds} <= set(pins), (engine.name, name)


def test_curated_models_and_gpu_prices(catalog):
    assert catalog.llm_models["meta-llama/Llama-3.1-8B-Instruct"].params_b == 8.03
    gpu_types = [t for t in catalog.instance_types.values() if t.gpus]
    assert gpu_types and all(t.gpu_memory_gib for t in gpu_types)
    # Families without a SageMaker list price mcc trusts come after every priced one that holds the model.
    unpriced = {t.family for t in gpu_types if t.usd_per_hour is None}
    assert unpriced == {"ml.p5e", "ml.p5en", "ml.p6-b200", "ml.g7e"}
    small, huge = sizing.Estimate(10, 1, None), sizing.Estimate(700, 100, None)
    assert all(t.usd_per_hour for t in sizing.cheapest_fitting(catalog, small, 0.9))
    assert [t.name for t in sizing.cheapest_fitting(catalog, huge, 0.9)] == [
        "ml.p5e.48xlarge",
        "ml.p5en.48xlarge",
        "ml.p6-b200.48xlarge",
    ]
