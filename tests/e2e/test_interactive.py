"""The interactive decision tree, driven through a real terminal (pexpect) like a user would."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest
import yaml

pytestmark = pytest.mark.slow

DOWN, ENTER, CLEAR_LINE = "\x1b[B", "\r", "\x15"


def spawn(cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # MCC_*: the session's own
    env.update(TERM="xterm", COLUMNS="120", LINES="40", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "mcc", "new", *args], cwd=str(cwd), env=env,
                          encoding="utf-8", timeout=30, dimensions=(40, 120))  # fmt: skip
    return child


def created_record(child, project) -> tuple[dict, str]:
    """Wait for a successful generation; the project's recorded answers and what was shown before "Created"."""
    child.expect("Created", timeout=600)  # the model check may first make the image's environment
    transcript = child.before
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    return yaml.safe_load((project / "mcc.yaml").read_text()), transcript


def test_the_decision_tree_asks_everything_and_validates_answers(tmp_path, wine_model_file):
    child = spawn(tmp_path)
    child.expect("Project name")
    child.send("bad_name" + ENTER)
    child.expect("SageMaker's name rule")  # asked again, with the rule
    child.send(CLEAR_LINE + "wine-app" + ENTER)
    child.expect("Output directory")
    child.send(ENTER)  # default ./wine-app
    child.expect("Framework")
    child.send(ENTER)  # scikit-learn
    child.expect("Model:")
    child.send(ENTER)  # my trained model file
    child.expect("Model file")
    child.send(str(tmp_path / "missing.joblib"))
    child.send(ENTER)
    child.expect("no such file")
    child.send(CLEAR_LINE + str(wine_model_file))
    child.send(ENTER)
    child.expect("Sample request")
    child.send(ENTER)  # skipped
    child.expect("What /invocations returns")  # the format was not asked: the extension tells
    child.send(DOWN + DOWN + ENTER)  # both
    child.expect("Web server")
    child.send(DOWN + ENTER)  # flask (fastapi, the default, comes first)
    child.expect("Deployment")
    child.send(DOWN + ENTER)  # async
    child.expect("Instance type")
    child.send(CLEAR_LINE + "ml.c5.larg" + ENTER)
    child.expect("did you mean 'ml.c5.large'")
    child.send(CLEAR_LINE + "ml.c5.large" + ENTER)
    child.expect("AWS Region")
    child.send(CLEAR_LINE + "eu-west-1" + ENTER)
    child.expect("Generate tests")
    child.send("n")
    record, _ = created_record(child, tmp_path / "wine-app")
    assert record["project_name"] == "wine-app"
    assert record["serving"]["web_server"] == "flask"
    assert record["serving"]["predict_output"] == "both"
    assert record["deployment"] == {
        "mode": "async",
        "instance_type": "ml.c5.large",
        "instance_count": 1,
        "region": "eu-west-1",
        "role_arn": "",
        "accelerator": "cpu",
    }
    assert "DEPLOY_MODE=${DEPLOY_MODE:-async}" in (tmp_path / "wine-app" / "do" / "config").read_text()
    assert record["include_tests"] is False
    assert record["model"]["format"] == "joblib"
    assert not (tmp_path / "wine-app" / "tests").exists()


def test_only_unanswered_questions_are_asked(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.mcc]\nregion = "ap-south-1"\n')
    child = spawn(
        tmp_path,
        *("--project-name", "demo", "--web-server", "flask", "--instance-type", "ml.m5.xlarge"),
        *("--deploy-mode", "realtime"),
    )
    child.expect("Output directory")
    child.send(ENTER)
    child.expect("Framework")
    child.send(ENTER)
    child.expect("Model:")
    child.send(DOWN + ENTER)  # the sample model
    child.expect("Model format")  # no file, so the format is asked
    child.send(ENTER)
    child.expect("What /invocations returns")
    child.send(ENTER)
    child.expect("Generate tests")
    child.send("y")
    record, transcript = created_record(child, tmp_path / "demo")
    for never_asked in ("Project name", "Web server", "Deployment", "Instance type", "AWS Region", "Model file"):
        assert never_asked not in transcript
    assert record["model"]["sample"] is True
    assert record["deployment"]["instance_type"] == "ml.m5.xlarge"
    assert record["deployment"]["region"] == "ap-south-1"


def test_a_gpu_framework_on_a_gpu_instance_asks_for_the_image(tmp_path):
    child = spawn(
        tmp_path,
        *("--project-name", "torch", "--sample-model", "--model-format", "torchscript", "--predict-output", "proba"),
        *(
            "--web-server",
            "flask",
            "--deploy-mode",
            "realtime",
            "--region",
            "us-east-1",
            "--instance-type",
            "ml.g5.xlarge",
        ),
    )
    child.expect("Output directory")
    child.send(ENTER)
    child.expect("Framework")
    child.send(DOWN * 4 + ENTER)  # scikit-learn, XGBoost, LightGBM, TensorFlow, PyTorch
    child.expect("Image:")
    child.send(ENTER)  # GPU image (the default on a GPU instance)
    child.expect("Generate tests")
    child.send("y")
    record, _ = created_record(child, tmp_path / "torch")
    assert record["model"]["framework"] == "pytorch"
    assert record["deployment"]["accelerator"] == "gpu"
    assert "FROM pytorch/pytorch:" in (tmp_path / "torch" / "Dockerfile").read_text()


def test_ctrl_c_writes_no_project_and_the_next_run_resumes_from_the_answers_given(tmp_path, wine_model_file):
    child = spawn(tmp_path, "--deploy-mode", "realtime")
    child.expect("Project name")
    child.send("wine" + ENTER)
    child.expect("Output directory")
    child.send(ENTER)
    child.expect("Framework")
    child.send(ENTER)
    child.expect("Model:")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Your answers so far are kept in .mcc-answers.yaml" in " ".join(child.before.split())
    assert [p.name for p in tmp_path.iterdir()] == [".mcc-answers.yaml"]  # no project
    kept = yaml.safe_load((tmp_path / ".mcc-answers.yaml").read_text())
    assert kept == {
        "project_name": "wine",
        "output_dir": "wine",
        "model": {"framework": "sklearn"},
        "deployment": {"mode": "realtime"},
    }

    child = spawn(tmp_path, "--web-server", "flask", "--instance-type", "ml.m5.large", "--region", "us-east-1")
    child.expect("Resume from your earlier answers")
    child.send("y")
    child.expect("Model:")  # the first question not answered before
    child.send(ENTER)
    child.expect("Model file")
    child.send(str(wine_model_file) + ENTER)
    child.expect("Sample request")
    child.send(ENTER)
    child.expect("What /invocations returns")
    child.send(ENTER)
    child.expect("Generate tests")
    child.send("n")
    record, transcript = created_record(child, tmp_path / "wine")
    assert "Project name" not in transcript and "Framework" not in transcript
    assert record["project_name"] == "wine" and record["deployment"]["mode"] == "realtime"
    assert not (tmp_path / ".mcc-answers.yaml").exists()  # used up


def test_a_data_file_given_as_the_model_is_refused_at_its_prompt(tmp_path, wine_model_file, wine):
    data = tmp_path / "train.csv"
    data.write_text("alcohol,malic_acid\n13.2,1.78\n")
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("1.0,2.0\n")
    child = spawn(tmp_path, "--project-name", "wine", "--web-server", "flask", "--deploy-mode", "realtime",
                  "--instance-type", "ml.m5.large", "--region", "us-east-1", "--no-include-tests")  # fmt: skip
    child.expect("Output directory")
    child.send(ENTER)
    child.expect("Framework")
    child.send(ENTER)
    child.expect("Model:")
    child.send(ENTER)
    child.expect("Model file")
    child.send(str(data) + ENTER)
    child.expect("is not a scikit-learn format")  # at this prompt, not after the last question
    child.send(CLEAR_LINE + str(wine_model_file) + ENTER)
    child.expect("Sample request")
    child.send(str(narrow) + ENTER)
    child.expect("What /invocations returns")
    child.send(ENTER)
    child.expect("Asking again: sample_payload", timeout=600)  # the model check refused the sample's width
    child.expect("Sample request")
    payload = tmp_path / "rows.csv"
    payload.write_text("".join(",".join(map(str, row)) + "\n" for row in wine[0][:2]))
    child.send(CLEAR_LINE + str(payload) + ENTER)
    record, transcript = created_record(child, tmp_path / "wine")
    assert "What /invocations returns" not in transcript  # only the refused question was asked again
    assert record["model"]["sample_payload"] == "samples/payload.csv"
    assert (tmp_path / "wine" / "samples" / "payload.csv").read_text() == payload.read_text()


def test_the_generative_branch_asks_model_id_engine_and_instance(tmp_path):
    child = spawn(tmp_path, "--project-name", "llama", "--region", "us-east-1", "--no-include-tests")
    child.expect("Output directory")
    child.send(ENTER)
    child.expect("Framework")
    child.send(DOWN * 6 + ENTER)  # after the six predictive frameworks: Hugging Face Transformers
    child.expect("Hugging Face model id")
    child.send("not a valid id!" + ENTER)
    child.expect("is not a Hugging Face Hub model id")
    child.send(CLEAR_LINE + "meta-llama/Llama-3.1-8B-Instruct" + ENTER)
    child.expect("Serving engine")
    child.send(DOWN + ENTER)  # SGLang
    child.expect("Deployment")
    child.send(ENTER)  # real-time
    child.expect("Instance type")
    child.expect("ml.g6e.xlarge")  # the default: the cheapest instance that holds the model
    child.send(CLEAR_LINE + "ml.g5.12xlarge" + ENTER)
    record, _ = created_record(child, tmp_path / "llama")
    assert record["generation"]["engine"] == "sglang"
    assert record["generation"]["model_id"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert record["deployment"]["instance_type"] == "ml.g5.12xlarge"
    assert record["deployment"]["accelerator"] == "gpu"
