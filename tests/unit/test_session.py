from mcc.session import SESSION_FILE, clear, save
from mcc.sources import Given, from_file


def test_kept_answers_read_back_as_a_config_file_defaults_left_out(tmp_path):
    answers = {
        "project_name": Given("churn", "prompt"),
        "model_file": Given("models/churn.joblib", "prompt"),
        "engine_args": Given(("max-num-seqs=8", "enforce-eager"), "flag --engine-arg"),
        "web_server": Given("fastapi", "default"),
    }
    path = save(answers, tmp_path)
    assert path == tmp_path / SESSION_FILE
    back = {key: given.value for key, given in from_file(path).items()}
    assert back == {
        "project_name": "churn",
        "model_file": str(tmp_path / "models" / "churn.joblib"),  # relative to where it was typed
        "engine_args": ["max-num-seqs=8", "enforce-eager"],
    }
    clear(tmp_path)
    assert not path.exists()
    assert save({"web_server": Given("fastapi", "default")}, tmp_path) is None  # nothing given: no file
