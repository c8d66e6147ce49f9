"""AWS Inferentia2 and Trainium: the catalog's Neuron instances (chips, device memory, NeuronCores), the Neuron
engines (vLLM's Neuron image, LMI's Neuron variant) chosen for them and refused anywhere else, sizing over
NeuronCores, and the generated projects: their files, their own tests, their launch, and do/run's devices."""

from __future__ import annotations

import json
import subprocess
import sys

import botocore.session
import pytest
import yaml

from mcc import sizing
from mcc.checks import check_project
from mcc_lifecycle import rules
from mcc_lifecycle.container import run_arguments
from mcc_lifecycle.settings import Settings, SettingsError
from mcc_runtime.llm.launch import engine_launch
from tests.support.projects import own_tests, run_mcc_new, run_script, stderr_text

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"


def mcc(target, *args: str) -> subprocess.CompletedProcess:
    return run_mcc_new(target, "--framework", "transformers", *args, name="llm")


def answers(project) -> dict:
    return yaml.safe_load((project / "mcc.yaml").read_text())


def test_every_inferentia2_and_trainium_type_sagemaker_hosts_is_in_the_catalog(catalog):
    model = botocore.session.get_session().get_service_model("sagemaker")
    hosted = {t for t in model.shape_for("ProductionVariantInstanceType").enum if t.startswith(("ml.inf2", "ml.trn"))}
    neuron = {name for name, t in catalog.instance_types.items() if t.accelerator == "neuron"}
    assert hosted == neuron
    cores = {name: (catalog.instance_types[name].neuron_cores, catalog.instance_types[name].neuron_memory_gib)
             for name in ("ml.inf2.xlarge", "ml.inf2.48xlarge", "ml.trn1.32xlarge", "ml.trn2.48xlarge")}  # fmt: skip
    assert cores == {
        "ml.inf2.xlarge": (2, 32),
        "ml.inf2.48xlarge": (24, 32),
        "ml.trn1.32xlarge": (32, 32),
        "ml.trn2.48xlarge": (64, 96),
    }
    assert catalog.instance_types["ml.inf2.xlarge"].label == (
        "ml.inf2.xlarge  (4 vCPU, 16 GiB, 1x Inferentia2 32 GiB (2 NeuronCores), accelerated (AWS Inferentia2))"
    )


@pytest.mark.parametrize(
    ("model", "max_len", "instance", "cores", "fits"),
    [
        (LLAMA_8B, None, "ml.inf2.xlarge", 2, False),  # a 128k-token KV cache beside 15 GiB of weights
        (LLAMA_8B, 8192, "ml.inf2.xlarge", 2, True),
        (LLAMA_8B, None, "ml.inf2.24xlarge", 12, True),
        (LLAMA_70B, 8192, "ml.inf2.24xlarge", 12, True),
        (LLAMA_70B, 8192, "ml.inf2.24xlarge", 8, False),  # a tensor parallel degree of 8 holds 8 cores' memory
        (LLAMA_70B, None, "ml.trn2.48xlarge", 64, True),
    ],
)
def test_a_model_is_sized_over_the_neuroncores_it_is_sharded_on(catalog, model, max_len, instance, cores, fits):
    known = catalog.llm_models[model]
    need = sizing.estimate(known.params_b, "bfloat16", "none", known, max_len)
    assert sizing.fits(need, catalog.instance_types[instance], cores, 0.9) is fits


def test_a_neuron_instance_type_picks_the_neuron_engine_and_image(tmp_path):
    result = mcc(
        tmp_path / "out", "--model-id", LLAMA_8B, "--instance-type", "ml.inf2.xlarge", "--max-model-len", "8192"
    )
    assert result.returncode == 0, result.stderr
    recorded = answers(tmp_path / "out")
    assert recorded["generation"]["engine"] == "vllm-neuron"
    assert recorded["deployment"]["accelerator"] == "neuron"
    assert "NEURON image, ml.inf2.xlarge" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("flags", "instance"),
    [
        (["--max-model-len", "8192"], "ml.inf2.xlarge"),  # least device memory, then fewest vCPUs
        ([], "ml.inf2.24xlarge"),  # the model's whole 128k context
        (["--engine-version", "0.24.0"], "ml.trn2.48xlarge"),  # the Neuron plugin's image: Trainium2 only
    ],
)
def test_a_neuron_engine_defaults_to_the_smallest_neuron_instance_that_holds_the_model(tmp_path, flags, instance):
    result = mcc(tmp_path / "out", "--model-id", LLAMA_8B, "--engine", "vllm-neuron", *flags)
    assert result.returncode == 0, result.stderr
    assert answers(tmp_path / "out")["deployment"]["instance_type"] == instance


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--engine", "vllm", "--instance-type", "ml.inf2.xlarge"],
         "is an AWS Inferentia2 instance: it runs AWS Neuron engines (vllm-neuron, lmi-neuron), not vllm (its Neuron "
         "variant: --engine vllm-neuron)"),
        (["--engine", "djl-lmi", "--instance-type", "ml.trn1.2xlarge"], "(its Neuron variant: --engine lmi-neuron)"),
        (["--engine", "sglang", "--instance-type", "ml.trn1.2xlarge"], "not sglang Nothing was written"),
        (["--engine", "vllm-neuron", "--instance-type", "ml.g5.2xlarge"],
         "has no AWS Neuron accelerator; vllm-neuron runs on Inferentia2 or Trainium (Smallest that hold it: "
         "ml.inf2.24xlarge (6x Inferentia2 32 GiB (12 NeuronCores))"),
        (["--engine", "vllm-neuron", "--engine-version", "0.24.0", "--instance-type", "ml.inf2.xlarge"],
         "its Neuron SDK 2.32.0 image supports ml.trn2, not ml.inf2 (vllm-neuron versions that do: 0.16.0)"),
        (["--engine", "lmi-neuron", "--instance-type", "ml.trn2.48xlarge"],
         "its Neuron SDK 2.20.1 image supports ml.inf2, ml.trn1, ml.trn1n, not ml.trn2"),
        (["--instance-type", "ml.inf2.xlarge", "--tensor-parallel-degree", "4"], "ml.inf2.xlarge has 2 NeuronCores"),
        (["--instance-type", "ml.inf2.xlarge", "--accelerator", "gpu"], "give --accelerator neuron (or leave it out)"),
        (["--engine", "vllm", "--instance-type", "ml.g5.2xlarge", "--accelerator", "neuron"],
         "vllm has no AWS Neuron image"),
        (["--instance-type", "ml.inf2.xlarge", "--deploy-mode", "inference-component"],
         "is not generated for AWS Neuron images: how SageMaker reserves NeuronCores for a component is not checked"),
        (["--engine", "vllm-neuron", "--deploy-mode", "serverless"],
         "serverless endpoints have no GPUs or Neuron accelerators; vllm-neuron needs AWS Neuron"),
        (["--engine", "vllm-neuron", "--instance-type", "ml.inf2.xlarge", "--quantization", "awq"],
         "vllm-neuron cannot serve quantization awq"),
        (["--instance-type", "ml.inf2.xlarge"],
         "2 of its 2 NeuronCores (16 GiB each) give 28.8 GiB. Smallest that hold it: ml.inf2.24xlarge"),
    ],
)  # fmt: skip
def test_neuron_placements_that_cannot_work_are_refused_before_anything_is_written(tmp_path, flags, message):
    result = mcc(tmp_path / "out", "--model-id", LLAMA_8B, *flags)
    assert result.returncode == 2 and message in stderr_text(result), stderr_text(result)
    assert not (tmp_path / "out").exists()


def test_inferentia1_is_refused_with_the_reason_and_predictive_models_get_no_neuron_image(tmp_path):
    inf1 = mcc(tmp_path / "inf1", "--model-id", LLAMA_8B, "--instance-type", "ml.inf1.xlarge")
    assert inf1.returncode == 2 and "is an AWS Inferentia1 type (ml.inf1)" in stderr_text(inf1)
    predictive = run_mcc_new(tmp_path / "sk", "--sample-model", "--instance-type", "ml.inf2.xlarge", "--accelerator",
                             "neuron")  # fmt: skip
    assert predictive.returncode == 2 and "AWS Neuron images serve LLMs" in stderr_text(predictive)
    idle = run_mcc_new(tmp_path / "sk", "--sample-model", "--instance-type", "ml.inf2.xlarge")
    assert idle.returncode == 0, idle.stderr
    assert "the Neuron accelerators will sit idle" in " ".join(idle.stdout.split())


@pytest.fixture(scope="module", params=["vllm-neuron", "lmi-neuron"])
def neuron_project(request, tmp_path_factory):
    target = tmp_path_factory.mktemp(request.param) / "out"
    flags = ("--engine", request.param, "--model-id", LLAMA_8B, "--instance-type", "ml.inf2.xlarge")
    result = mcc(target, *flags, "--max-model-len", "8192", "--max-concurrent-sequences", "4")
    assert result.returncode == 0, result.stderr
    return request.param, target


def test_a_neuron_project_builds_on_the_engines_neuron_image_and_passes_its_checks(neuron_project):
    name, project = neuron_project
    dockerfile = (project / "Dockerfile").read_text()
    image = {
        "vllm-neuron": "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.16.0-neuronx-py312-sdk2.31.1-"
        "ubuntu24.04",
        "lmi-neuron": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.30.0-neuronx-sdk2.20.1",
    }
    assert f"FROM {image[name]}" in dockerfile.splitlines()
    assert "(AWS Neuron SDK" in dockerfile and "LABEL com.mcc.runs-as-root" in dockerfile
    assert not (project / "nginx.conf").exists()  # both answer /ping and /invocations themselves
    assert [str(f) for f in check_project(project, require_linters=True)] == []
    result = own_tests(project, sys.executable)
    assert result.returncode == 0 and " passed" in result.stdout and "skipped" not in result.stdout, result.stdout


def test_a_neuron_project_shards_over_the_instances_neuroncores_and_waits_for_the_compile(neuron_project):
    _, project = neuron_project
    config = (project / "do" / "config").read_text()
    for line in ("NEURON_CORES=${NEURON_CORES:-2}", "IMAGE_NEURON_SDK=${IMAGE_NEURON_SDK:-",
                 "GPU_REQUIRED=${GPU_REQUIRED:-false}", "STARTUP_TIMEOUT_S=${STARTUP_TIMEOUT_S:-3600}",
                 "IMAGE_CUDA=${IMAGE_CUDA:-''}"):  # fmt: skip
        assert line in config, line
    assert "INFERENCE_AMI_VERSION=${INFERENCE_AMI_VERSION:-''}" in config  # SageMaker's own Neuron host
    readme = (project / "README.md").read_text()
    assert "MCC_NEURON_CORES=2" in readme and "compiles the model for the NeuronCores" in readme


def test_the_launcher_gives_each_neuron_engine_its_own_settings(neuron_project):
    name, project = neuron_project
    settings = json.loads((project / "code" / "serving.json").read_text())
    launch = engine_launch(settings["engine"], settings["generation"], {"MCC_NEURON_CORES": "2"})
    if name == "vllm-neuron":
        assert launch.argv == ["vllm", "serve", LLAMA_8B, "--host", "0.0.0.0", "--port", "8080", "--served-model-name",
                               LLAMA_8B, "--tensor-parallel-size", "2", "--max-model-len", "8192", "--max-num-seqs",
                               "4"]  # fmt: skip
        override = engine_launch(settings["engine"], settings["generation"], {"MCC_TENSOR_PARALLEL_DEGREE": "1"})
        assert override.setting("--tensor-parallel-size") == "1"
    else:
        assert launch.argv == ["/usr/local/bin/dockerd-entrypoint.sh", "serve"]
        assert launch.env == {
            "HF_MODEL_ID": LLAMA_8B,
            "OPTION_TENSOR_PARALLEL_DEGREE": "2",
            "OPTION_N_POSITIONS": "8192",
            "OPTION_MAX_ROLLING_BATCH_SIZE": "4",
            "OPTION_ROLLING_BATCH": "auto",
            "OPTION_NEURON_OPTIMIZE_LEVEL": "2",
        }


def test_do_run_maps_this_machines_neuron_devices_or_says_it_has_none(neuron_project, tmp_path):
    _, project = neuron_project
    settings = Settings(project_name="llm", aws_region="us-east-1", instance_type="ml.inf2.24xlarge",
                        neuron_cores=12, image_neuron_sdk="2.31.1")  # fmt: skip
    dev = tmp_path / "dev"
    dev.mkdir()
    with pytest.raises(SettingsError, match=r"has no .*/neuron\* device: run it on an Inferentia2 or Trainium"):
        run_arguments(settings, project, {}, 8080, dev=dev)
    for index in (0, 1, 10, 2, 3, 4, 5):  # the chips (neuron0 …), in numeric order
        (dev / f"neuron{index}").touch()
    (dev / "neuron-monitor").touch()  # not a chip
    arguments = run_arguments(settings, project, {}, 8080, dev=dev)
    devices = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--device"]
    assert devices == [str(dev / f"neuron{i}") for i in (0, 1, 2, 3, 4, 5, 10)]
    assert "MCC_NEURON_CORES=12" in arguments and "--gpus" not in arguments
    result = run_script(project, "run", python=sys.executable)  # this machine has no Neuron device
    assert result.returncode == 2 and "this machine has no /dev/neuron* device" in result.stderr, result.stderr


def test_the_catalog_listing_names_each_neuron_images_sdk_and_families():
    result = subprocess.run([sys.executable, "-m", "mcc", "catalog", "engines"], capture_output=True, text=True,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0.16.0* (Neuron SDK 2.31.1: inf2, trn1, trn1n, trn2)" in result.stdout
    assert "0.24.0 (Neuron SDK 2.32.0: trn2)" in result.stdout


def test_do_deploy_refuses_a_neuron_image_on_an_instance_type_without_neuron(tmp_path):
    neuron = Settings(project_name="llm", aws_region="us-east-1", image_neuron_sdk="2.31.1", neuron_cores=2,
                      instance_type="ml.inf2.xlarge")  # fmt: skip
    assert not [e for e in rules.deploy_errors(neuron) if "Neuron" in e]
    for changed in ({"instance_type": "ml.g5.xlarge"}, {"deploy_mode": "serverless"}):
        errors = rules.deploy_errors(Settings(**{**neuron.__dict__, **changed}))
        assert any("has no Neuron accelerator: use an Inferentia2 or Trainium type" in e for e in errors), errors
    components = rules.deploy_errors(Settings(**{**neuron.__dict__, "deploy_mode": "inference-component"}))
    assert rules.NEURON_COMPONENTS in components
