"""The engine's command line for the SageMaker environments this project may meet (no GPU needed)."""

import json
from pathlib import Path

from mcc_runtime.llm.launch import engine_launch, model_reference

SETTINGS = json.loads((Path(__file__).resolve().parents[1] / "code" / "serving.json").read_text())


def launch(environ):
    return engine_launch(SETTINGS["engine"], SETTINGS["generation"], environ)


def test_the_engine_gets_the_model_and_the_sagemaker_port():
    model = SETTINGS["generation"]["model_id"] or "/opt/ml/model"
    if SETTINGS["engine"]["style"] == "runtime":  # mcc's own server loads the model itself
        assert model_reference(SETTINGS["generation"], {}) == model
        return
    found = launch({"SM_NUM_GPUS": "1"})
    if SETTINGS["engine"]["model_file_format"]:  # one model file (GGUF): in the directory, or in the Hub repo
        gguf = SETTINGS["generation"]["gguf_file"]
        if SETTINGS["generation"]["model_id"]:
            assert found.setting(SETTINGS["engine"]["repo_flag"]) == model
            model = gguf
        else:
            model = f"{model}/{gguf}"
    flag = SETTINGS["engine"]["model_flag"]  # empty: the model is a positional argument
    assert found.setting(flag) == model if flag else model in found.argv
    assert found.port == 8080


def test_every_gpu_is_used_unless_the_project_pins_a_degree():
    pinned = SETTINGS["generation"]["tensor_parallel_degree"]
    key = SETTINGS["engine"]["options"].get("tensor_parallel_degree")
    if key is None or SETTINGS["engine"]["style"] == "runtime":
        return
    assert launch({"SM_NUM_GPUS": "4"}).setting(key) == str(pinned or 4)
