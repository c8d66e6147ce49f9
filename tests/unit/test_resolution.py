"""pip's resolver, asked for the image's platform (mcc/resolution.py)."""

from __future__ import annotations

from mcc.resolution import Target, _pip_reason


def test_the_image_takes_manylinux_wheels_up_to_its_c_library():
    tags = Target("3.11", "2.36").platforms()
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in tags
    assert tags[-1] == "manylinux2014_x86_64" and not any("2_37" in tag for tag in tags)


def test_pips_reason_is_its_error_lines():
    output = (
        "WARNING: Location 'file:///x/' is ignored: it is neither a file nor a directory.\n"
        "ERROR: Could not find a version that satisfies the requirement scikit-learn==0.1 (from versions: 1.0)\n"
        "ERROR: No matching distribution found for scikit-learn==0.1\n"
    )
    reason = _pip_reason(output)
    assert reason.startswith("Could not find a version that satisfies the requirement scikit-learn==0.1")
    assert "WARNING" not in reason and "No matching distribution found" in reason


def test_an_unreachable_index_is_suggested_when_pip_saw_no_release():
    reason = _pip_reason("ERROR: Could not find a version that satisfies the requirement x==1 (from versions: none)")
    assert reason.endswith("(is the package index reachable from here?)")
