"""The model-readability check code/serve makes before its workers drop to the unprivileged user."""

from __future__ import annotations

import os
import pwd

import pytest

from mcc_runtime.access import require_readable, unreadable

OTHER_UID, OTHER_GID = 65534, 65533  # neither owns the files made here


@pytest.fixture
def model(tmp_path):
    directory = tmp_path / "model"
    (directory / "tokenizer").mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer/tokenizer.json"):
        (directory / name).write_text("{}")
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


def test_files_readable_by_all_pass(model):
    assert unreadable(model, OTHER_UID, OTHER_GID) == []


def test_owner_only_files_and_closed_directories_are_named_with_their_mode(model):
    (model / "model.safetensors").chmod(0o600)  # as safetensors writes them
    (model / "tokenizer").chmod(0o700)
    owner = os.getuid()
    assert unreadable(model, OTHER_UID, OTHER_GID) == [
        f"model.safetensors (mode 0600, owner uid {owner})",
        f"tokenizer (mode 0700, owner uid {owner})",
    ]
    assert unreadable(model, owner, OTHER_GID) == []  # the owner itself reads them


def test_group_bits_count_for_the_files_group(model):
    (model / "config.json").chmod(0o640)
    assert unreadable(model, OTHER_UID, os.getgid()) == []
    assert [entry.split()[0] for entry in unreadable(model, OTHER_UID, OTHER_GID)] == ["config.json"]


def test_the_error_names_the_user_the_files_and_the_fix(model):
    (model / "model.safetensors").chmod(0o600)
    with pytest.raises(ValueError) as error:
        require_readable(model, "nobody")
    message = str(error.value)
    assert f"run as nobody (uid {pwd.getpwnam('nobody').pw_uid}) and cannot read the model in {model}" in message
    assert "model.safetensors (mode 0600" in message and "chmod -R a+rX model/" in message


def test_nothing_is_checked_without_a_privilege_drop_or_a_model_directory(model, tmp_path):
    (model / "model.safetensors").chmod(0o600)
    require_readable(model, None)
    require_readable(tmp_path / "absent", "nobody")
