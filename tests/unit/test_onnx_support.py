"""What an ONNX model needs of onnxruntime (IR version, operator sets), read without loading it, and the
catalog's limits for its pinned onnxruntime checked against that onnxruntime itself."""

from __future__ import annotations

import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from mcc.training_version import onnx_versions
from tests.unit.test_spec import errors_of


def identity_model(ir_version: int, opsets: dict[str, int]) -> bytes:
    """y = x, or Normalizer(x) when the ai.onnx.ml set is imported (so that set is really used)."""
    ml = "ai.onnx.ml" in opsets
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    node = (helper.make_node("Normalizer", ["x"], ["y"], domain="ai.onnx.ml", norm="L1") if ml
            else helper.make_node("Identity", ["x"], ["y"]))  # fmt: skip
    imports = [helper.make_opsetid(domain, version) for domain, version in opsets.items()]
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=imports)
    model.ir_version = ir_version
    return model.SerializeToString()


def loads(data: bytes) -> bool:
    try:
        onnxruntime.InferenceSession(data)
    except Exception:  # onnxruntime's own refusal
        return False
    return True


@pytest.fixture(scope="module")
def support(catalog):
    entry = catalog.frameworks["onnx"].versions[catalog.frameworks["onnx"].default_version]
    assert onnxruntime.__version__ == catalog.frameworks["onnx"].default_version
    return entry.onnx


def test_the_catalogs_limits_are_what_the_pinned_onnxruntime_loads(support):
    default, ml = support.opsets[""], support.opsets["ai.onnx.ml"]
    assert loads(identity_model(support.ir_version, {"": default}))
    assert not loads(identity_model(support.ir_version + 1, {"": default}))
    assert not loads(identity_model(support.ir_version, {"": default + 1}))
    assert loads(identity_model(support.ir_version, {"": default, "ai.onnx.ml": ml}))
    assert not loads(identity_model(support.ir_version, {"": default, "ai.onnx.ml": ml + 1}))


def test_the_ir_version_and_opsets_are_read_from_the_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(identity_model(9, {"": 17, "ai.onnx.ml": 3}))
    found = onnx_versions(path)
    assert (found.ir_version, found.opsets) == (9, {"": 17, "ai.onnx.ml": 3})
    assert onnx.load(path).ir_version == 9  # the reader agrees with onnx's own
    (tmp_path / "bad.onnx").write_bytes(b"\x08\xff")  # a truncated varint
    assert onnx_versions(tmp_path / "bad.onnx") is None


def test_mcc_new_refuses_a_model_newer_than_the_pinned_onnxruntime(catalog, support, tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(identity_model(support.ir_version, {"": support.opsets[""] + 1}))
    found = errors_of(catalog, project_name="newer", model_file=str(path), output_dir=str(tmp_path / "out"))
    message = found["model_file"]
    assert f"needs ai.onnx opset {support.opsets[''] + 1} (loads up to {support.opsets['']})" in message
    assert "torch.onnx.export's opset_version" in message
