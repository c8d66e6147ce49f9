"""Small ONNX graphs built node by node: models of named inputs and of text input, for the serving tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

VOCABULARY = ("red", "green", "blue")


def two_input_onnx(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """score = a @ wa + b @ wb: a graph with two named inputs (a: 3 floats, b: 2 floats per row)."""
    from onnx import TensorProto, helper, numpy_helper

    wa, wb = np.array([[0.5], [-1.0], [2.0]], np.float32), np.array([[3.0], [0.25]], np.float32)
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, w]) for n, w in (("a", 3), ("b", 2))]
    output = helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])
    nodes = [helper.make_node("MatMul", ["a", "wa"], ["sa"]), helper.make_node("MatMul", ["b", "wb"], ["sb"]),
             helper.make_node("Add", ["sa", "sb"], ["score"])]  # fmt: skip
    weights = [numpy_helper.from_array(wa, "wa"), numpy_helper.from_array(wb, "wb")]
    graph = helper.make_graph(nodes, "two-inputs", inputs, [output], initializer=weights)
    _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return wa, wb


def two_input_body(protocol: str, rows: np.ndarray) -> bytes:
    """A JSON request for two_input_onnx's graph: ``rows`` (5 values each) split into inputs a and b, as TF
    Serving rows ("rows"), TF Serving columnar ("columnar") or the Open Inference Protocol ("v2")."""
    a, b = rows[:, :3].tolist(), rows[:, 3:].tolist()
    if protocol == "rows":
        return json.dumps({"instances": [{"a": x, "b": y} for x, y in zip(a, b, strict=True)]}).encode()
    if protocol == "columnar":
        return json.dumps({"inputs": {"a": a, "b": b}}).encode()
    tensors = [{"name": n, "shape": [len(v), len(v[0])], "datatype": "FP32", "data": np.ravel(v).tolist()}
               for n, v in (("a", a), ("b", b))]  # fmt: skip
    return json.dumps({"inputs": tensors}).encode()


def text_lookup_onnx(path: Path) -> None:
    """One string input ``colour`` (one text per row) → its index in VOCABULARY (-1 for any other text)."""
    from onnx import TensorProto, helper

    text = helper.make_tensor_value_info("colour", TensorProto.STRING, [None])
    index = helper.make_tensor_value_info("index", TensorProto.INT64, [None])
    lookup = helper.make_node("LabelEncoder", ["colour"], ["index"], domain="ai.onnx.ml",
                              keys_strings=list(VOCABULARY), values_int64s=list(range(len(VOCABULARY))),
                              default_int64=-1)  # fmt: skip
    graph = helper.make_graph([lookup], "text-lookup", [text], [index])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 2)]
    _save(helper.make_model(graph, opset_imports=opsets), path)


def _save(model, path: Path) -> None:
    model.ir_version = 9
    path.write_bytes(model.SerializeToString())
