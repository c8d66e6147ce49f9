"""mcc as users install a CLI: the wheel and sdist carry every source and data file, pipx gives a venv with
mcc's declared dependencies only, every command given bad input answers one error line (exit 2, nothing
written, no traceback), and the interactive decision tree works from that install through a real terminal and
writes the same project as the dev venv's mcc given the same answers as flags."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pexpect
import pytest

from tests.support.installs import REPO, differences, pip_venv

pytestmark = pytest.mark.slow

ENTER, CLEAR_LINE = "\r", "\x15"


def source_files() -> list[str]:
    """Every file under src/ that git tracks, relative to src/ (as the wheel holds them)."""
    listed = subprocess.run(["git", "ls-files", "src"], cwd=REPO, capture_output=True, text=True, check=True)
    return sorted(line.removeprefix("src/") for line in listed.stdout.splitlines())


def test_the_wheel_and_the_sdist_carry_every_source_and_data_file(distributions):
    wheel, sdist = distributions
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        in_sdist = {name.removeprefix(f"{top}/src/") for name in archive.getnames()}
    expected = source_files()
    assert any(name.startswith("mcc/catalog/data/") for name in expected)  # data files are tracked sources too
    assert [name for name in expected if name not in in_wheel] == []
    assert [name for name in expected if name not in in_sdist] == []
    assert not [name for name in in_wheel if "__pycache__" in name or name.endswith(".pyc")]


def test_pipx_installs_mcc_alone_and_mcc_version_is_the_packages(pipx_mcc, distributions, user_env):
    version = distributions[0].name.split("-")[1]
    shown = subprocess.run([str(pipx_mcc), "--version"], env=user_env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == f"mcc, version {version}"
    python = pipx_mcc.resolve().parent / "python"
    probe = (
        "import importlib.metadata, importlib.util, mcc; print(mcc.__file__); "
        "print(importlib.metadata.version('ml-container-creator')); "
        "print([m for m in ('numpy', 'pandas', 'sklearn', 'orjson', 'pytest') if importlib.util.find_spec(m)])"
    )
    found = subprocess.run([str(python), "-c", probe], env=user_env, capture_output=True, text=True, check=True)
    module, installed, extras = found.stdout.splitlines()
    assert Path(module).is_relative_to(pipx_mcc.resolve().parent.parent)  # mcc from pipx's venv, not src/
    assert Path(sys.prefix) not in Path(module).parents
    assert (installed, extras) == (version, "[]")


def test_every_module_of_mcc_imports_with_the_base_install_alone(pipx_mcc, user_env):
    """What a command imports is declared in the base install; the extras' libraries are imported where used."""
    probe = (
        "import importlib, pkgutil, mcc\n"
        "names = [m.name for m in pkgutil.walk_packages(mcc.__path__, 'mcc.') if m.name != 'mcc.__main__']\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    python = pipx_mcc.resolve().parent / "python"
    result = subprocess.run([str(python), "-c", probe], env=user_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 30


def test_pip_installs_the_sdist_non_editable_and_its_mcc_reads_its_package_data(distributions, user_env, tmp_path):
    """pip builds the sdist itself (as from an index without the wheel); the command runs outside the checkout."""
    mcc = pip_venv(tmp_path / "venv", str(distributions[1]), env=user_env, binary_only=False) / "mcc"
    shown = subprocess.run([str(mcc), "--version"], env=user_env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == f"mcc, version {distributions[0].name.split('-')[1]}"
    listed = subprocess.run([str(mcc), "catalog", "frameworks"], cwd=tmp_path, env={**user_env, "COLUMNS": "200"},
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert "scikit-learn" in listed.stdout and "PyTorch" in listed.stdout
    schema = subprocess.run([str(mcc), "schema"], cwd=tmp_path, env=user_env, capture_output=True, text=True)
    assert schema.returncode == 0 and '"project_name"' in schema.stdout


@pytest.fixture(scope="module")
def broken_inputs(tmp_path_factory):
    """A folder of bad inputs, as a user's working directory."""
    folder = tmp_path_factory.mktemp("bad-inputs")
    (folder / "corrupt.joblib").write_bytes(b"garbage")
    (folder / "broken.yaml").write_text("project_name: [\n")
    (folder / "full").mkdir()
    (folder / "full" / "notes.txt").write_text("mine\n")
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text("import nosuchmodule_xyz\n")
    (folder / "wrong.csv").write_text("colour,size\nred,1\n")
    (folder / "unknown-package.txt").write_text("nosuch-package-xyz-abc==1.0\n")
    (folder / "old").mkdir()
    (folder / "old" / "mcc.yaml").write_text("project_name: [\n")
    return folder


BAD_INPUTS = {
    "missing model": (("--model-file", "missing.joblib"), "file not found"),
    "corrupt model": (("--model-file", "corrupt.joblib"), "is not a pickle or joblib file"),
    "unknown region": (("--region", "mars-1"), "is not a SageMaker region"),
    "bad name": (("--project-name", "Bad_Name"), "SageMaker's name rule"),
    "instance typo": (("--instance-type", "ml.c5.larg"), "did you mean 'ml.c5.large'"),
    "zero instances": (("--instance-count", "0"), "greater than or equal to 1"),
    "broken config": (("--config", "broken.yaml"), "cannot read the config file"),
    "user's files in the way": (("--output-dir", "full"), "exists and is not empty"),
    "missing requirements file": (("--requirements", "missing.txt"), "file not found"),
    "package that does not exist": (("--requirements", "unknown-package.txt"), "nosuch-package-xyz-abc was not found"),
    "wrong framework": (("--framework", "xgboost"), "use --framework sklearn"),
    "payload of other columns": (("--sample-payload", "wrong.csv"), "missing plan, age, spend"),
    "code that imports a missing module": (("--code-dir", "code"), "needs the module 'nosuchmodule_xyz'"),
    "sample model without scikit-learn": (("--sample-model",), "pipx inject ml-container-creator"),
    "onnx without the converters": (("--optimize", "onnx"), "ml-container-creator[onnx]"),
}
OTHER_COMMANDS = {
    "upgrade outside a project": (("upgrade",), "has no mcc.yaml"),
    "check outside a project": (("check",), "has no mcc.yaml"),
    "upgrade of a broken record": (("upgrade", "old"), "not valid YAML at line 2"),
    "unknown catalog section": (("catalog", "nonsense"), "'nonsense' is not one of"),
}


def new_command(flags: tuple[str, ...], model: Path) -> list[str]:
    """``mcc new --yes`` for the churn model, FLAGS replacing the answers they name."""
    defaults = {"--project-name": "churn", "--model-file": str(model)}
    named = {"--model-file"} if flags == ("--sample-model",) else set(flags[::2])
    return ["new", "--yes", *[part for flag, value in defaults.items() if flag not in named for part in (flag, value)],
            *flags]  # fmt: skip


@pytest.mark.parametrize(
    "case", [*BAD_INPUTS, *OTHER_COMMANDS], ids=lambda case: case.replace(" ", "-").replace("'", "")
)
def test_every_bad_input_is_one_clear_error_with_exit_2_and_nothing_written(
    case, pipx_mcc, user_env, broken_inputs, tabular_models
):
    if case in BAD_INPUTS:
        flags, phrase = BAD_INPUTS[case]
        arguments = new_command(flags, tabular_models["churn-with-missing"].path)
    else:
        arguments, phrase = OTHER_COMMANDS[case]
    before = sorted(p.relative_to(broken_inputs) for p in broken_inputs.rglob("*"))
    result = subprocess.run([str(pipx_mcc), *arguments], cwd=broken_inputs, env={**user_env, "COLUMNS": "100"},
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, said
    assert "Traceback" not in said and "unexpectedly" not in said, said
    assert phrase in said, said
    assert sorted(p.relative_to(broken_inputs) for p in broken_inputs.rglob("*")) == before


def test_the_decision_tree_from_the_pipx_install_writes_the_dev_venvs_project(
    pipx_mcc, user_env, tabular_models, tmp_path
):
    model = tabular_models["churn-with-missing"].path
    env = {**user_env, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "PROMPT_TOOLKIT_NO_CPR": "1"}
    (tmp_path / "user").mkdir()
    child = pexpect.spawn(str(pipx_mcc), ["new"], cwd=str(tmp_path / "user"), env=env, encoding="utf-8",
                          timeout=60, dimensions=(40, 120))  # fmt: skip
    for prompt, answer in (
        ("Project name", "churn" + ENTER),
        ("Output directory", ENTER),  # ./churn
        ("Framework", ENTER),  # scikit-learn
        ("Model:", ENTER),  # my trained model file
        ("Model file", str(model) + ENTER),
        ("Sample request", ENTER),  # skipped
        ("What /invocations returns", ENTER),
        ("Web server", ENTER),
        ("Deployment", ENTER),
        ("Instance type", ENTER),
        ("AWS Region", CLEAR_LINE + "eu-west-1" + ENTER),
        ("Generate tests", "y"),
    ):
        child.expect(prompt)
        child.send(answer)
    child.expect("Created", timeout=600)  # the model check makes the image's environment first
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    flags = ("--project-name", "churn", "--framework", "sklearn", "--model-file", str(model), "--region", "eu-west-1")
    dev = tmp_path / "dev" / "churn"
    result = subprocess.run([sys.executable, "-m", "mcc", "new", "--yes", *flags, "--output-dir", str(dev)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert differences(tmp_path / "user" / "churn", dev) == []
