"""Models of several named inputs, and of text inputs, end to end (the issue "Beyond one numeric array"): an ONNX
graph with two named inputs and Keras models (a TextVectorization text classifier; two named inputs, two named
outputs) → `mcc new` reads the signature → served behind nginx → TF Serving rows and columnar requests, the Open
Inference Protocol, JSON Lines, NPZ and, for one text input, CSV answered as the framework answers in-process,
in the request's protocol; bad inputs named; the README's copy-paste requests, do/test and the project's own
tests pass."""

from __future__ import annotations

import io
import json
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from mcc_runtime.defaults import DECLARE_INPUTS
from mcc_runtime.local import LocalServer
from mcc_runtime.smoke import invoke
from tests.support.graphs import two_input_body, two_input_onnx
from tests.support.projects import own_tests, readable_folder, run_script, startup_refusal, stderr_text
from tests.support.projects import run_mcc_new as mcc_new
from tests.support.venvs import project_venv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir():
    with readable_folder("mcc-named-inputs-") as parent:
        yield parent


def readme_examples(project) -> list[bytes]:
    """The bodies of the generated README's copy-paste requests."""
    readme = (project / "README.md").read_text()
    return [part.split("\nBODY", 1)[0].encode() for part in readme.split("<<'BODY'\n")[1:]]


def poster(server):
    def post(body: bytes, content_type: str = "application/json") -> dict:
        status, _, answer = invoke(server.url, body, content_type, "application/json")
        assert status == 200, answer
        return json.loads(answer)

    return post


MULTI_INPUT_PREDICT_FN = textwrap.dedent("""
    def predict_fn(inputs, model):
        (score,) = model.session.run(None, {"a": inputs["a"] * 2, "b": inputs["b"]})
        return score.reshape(-1)
""")


@pytest.fixture(scope="module")
def two_inputs(workdir):
    """The graph, 12 request rows split into its two inputs, and onnxruntime's in-process answer for them."""
    import onnxruntime

    model = workdir / "two-inputs.onnx"
    two_input_onnx(model)
    rows = np.random.default_rng(5).normal(size=(12, 5)).astype(np.float32)
    inputs = {"a": rows[:, :3], "b": rows[:, 3:]}
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return model, inputs, session


def test_a_two_input_onnx_graph_is_served_in_every_protocol_its_clients_speak(workdir, two_inputs):
    """The signature read from the graph (schema.json), the sample answered in the image's environment, and
    TF Serving rows and columnar requests, the Open Inference Protocol, JSON Lines and NPZ answered as
    onnxruntime answers in-process, each in its own protocol's shape; a bad input named."""
    model, inputs, session = two_inputs
    (expected,) = session.run(None, inputs)
    payload = workdir / "two-inputs-sample.json"
    payload.write_text(json.dumps({"inputs": {"a": inputs["a"][:2].tolist(), "b": inputs["b"][:2].tolist()}}))
    project = workdir / "two-inputs"
    result = mcc_new(project, "--framework", "onnx", "--model-file", str(model), "--sample-payload", str(payload))
    assert result.returncode == 0, result.stderr
    schema = json.loads((project / "code" / "schema.json").read_text())
    assert schema["signature"]["inputs"] == [
        {"name": "a", "dtype": "float32", "shape": [None, 3]},
        {"name": "b", "dtype": "float32", "shape": [None, 2]},
    ]
    recorded = json.loads((project / "samples" / "expected.json").read_text())
    assert list(recorded) == ["outputs"] and same(recorded["outputs"], expected[:2])
    rows = [{"a": a, "b": b} for a, b in zip(inputs["a"].tolist(), inputs["b"].tolist(), strict=True)]
    v2 = {"inputs": [{"name": n, "shape": list(v.shape), "datatype": "FP32", "data": v.reshape(-1).tolist()}
                     for n, v in inputs.items()]}  # fmt: skip
    buffer = io.BytesIO()
    np.savez(buffer, **inputs)
    python = project_venv(project)
    with LocalServer(project, python=python) as server:

        def post(body, content_type="application/json"):
            status, _, answer = invoke(server.url, body, content_type, "application/json")
            assert status == 200, answer
            return json.loads(answer)

        assert same(post(json.dumps({"instances": rows}).encode())["predictions"], expected)
        columnar = {"inputs": {n: v.tolist() for n, v in inputs.items()}}
        assert same(post(json.dumps(columnar).encode())["outputs"], expected)
        (output,) = post(json.dumps(v2).encode())["outputs"]
        assert {k: output[k] for k in ("name", "datatype", "shape")} == {"name": "score", "datatype": "FP32",
                                                                         "shape": [12, 1]}  # fmt: skip
        assert same(output["data"], expected.reshape(-1))
        lines = "".join(json.dumps(row) + "\n" for row in rows).encode()
        assert same(post(lines, "application/jsonlines")["predictions"], expected)
        assert same(post(buffer.getvalue(), "application/x-npz")["predictions"], expected)
        status, answer_type, answer = invoke(server.url, json.dumps(columnar).encode(), "application/json",
                                             "text/csv; header=present")  # fmt: skip
        assert (status, answer_type) == (200, "text/csv;header=present")
        (name, *lines) = answer.decode().splitlines()
        assert name == "score" and same([float(line) for line in lines], expected.reshape(-1))
        status, _, answer = invoke(server.url, json.dumps({"instances": [{"a": [1, 2]}]}).encode(),
                                   "application/json", "application/json")  # fmt: skip
        assert status == 400 and json.loads(answer)["error"] == "row 1: missing b (the model's inputs: a, b)"
        assert same(post(json.dumps(columnar).encode())["outputs"], expected)  # still serving
        readme = (project / "README.md").read_text()
        examples = [part.split("\nBODY", 1)[0] for part in readme.split("<<'BODY'\n")[1:]]
        assert len(examples) == 3 and "| input | `a` | float32 | [?, 3] |" in readme
        for example in examples:  # the README's copy-paste requests, as written
            assert len(post(example.encode())) > 0
        tested = run_script(project, "test", "--url", server.url, python=python)  # the sample, and expected.json
        assert tested.returncode == 0, tested.stdout + tested.stderr
    own = own_tests(project, python)
    assert own.returncode == 0, own.stdout[-2000:] + own.stderr[-2000:]


def test_a_users_predict_fn_alone_gets_the_named_inputs_from_the_default_hooks(workdir, two_inputs):
    """The default model_fn loads the two-input graph and the default input_fn decodes each request into a dict
    of its named inputs for the user's own predict_fn."""
    model, inputs, session = two_inputs
    (expected,) = session.run(None, {"a": inputs["a"] * 2, "b": inputs["b"]})
    code = workdir / "two-inputs-code"
    code.mkdir()
    (code / "inference.py").write_text(MULTI_INPUT_PREDICT_FN)
    project = workdir / "two-inputs-own"
    result = mcc_new(project, "--framework", "onnx", "--model-file", str(model), "--code-dir", str(code))
    assert result.returncode == 0, result.stderr
    columnar = json.dumps({"inputs": {n: v.tolist() for n, v in inputs.items()}}).encode()
    with LocalServer(project, python=project_venv(project)) as server:
        status, _, answer = invoke(server.url, columnar, "application/json", "application/json")
    assert status == 200, answer
    assert same(json.loads(answer)["predictions"], expected.reshape(-1))


def test_concurrent_requests_in_every_protocol_share_model_calls_and_get_their_own_answers(workdir, two_inputs):
    """Adaptive batching for named inputs, through nginx: 1,200 requests from 32 clients in TF Serving rows,
    columnar and the Open Inference Protocol, 1 to 3 rows each, are joined into shared ONNX Runtime calls; each
    answer is exactly its own rows' in its own protocol, and a request of the wrong width, mixed in, gets its 400."""
    model, _, session = two_inputs
    project = workdir / "two-inputs-batched"
    assert mcc_new(project, "--framework", "onnx", "--model-file", str(model)).returncode == 0
    rows = np.random.default_rng(9).normal(size=(2400, 5)).astype(np.float32)
    protocols, bad = ["rows", "columnar", "v2"], json.dumps({"inputs": {"a": [[1, 2]], "b": [[1, 2]]}}).encode()
    chosen = [(None, bad) if i % 13 == 0 else (rows[2 * i : 2 * i + 1 + i % 3], None) for i in range(1200)]
    bodies = [body or two_input_body(protocols[i % 3], part) for i, (part, body) in enumerate(chosen)]
    log_path = workdir / "batched.log"
    env = {"MCC_WORKERS": "2", "MCC_LOG_LEVEL": "debug"}
    with (
        open(log_path, "w") as log,
        LocalServer(project, python=project_venv(project), env=env, log=log) as server,
        ThreadPoolExecutor(32) as pool,
    ):
        answers = list(pool.map(lambda body: invoke(server.url, body, "application/json", "application/json"), bodies))
    refusal = "input a: float32[?, 3]: dimension 1 is 2, it must be 3; sent int64[1, 2]"
    for i, ((part, _), (status, _, answer)) in enumerate(zip(chosen, answers, strict=True)):
        if part is None:
            assert (status, json.loads(answer)["error"]) == (400, refusal)
            continue
        assert status == 200, answer
        (expected,) = session.run(None, {"a": part[:, :3], "b": part[:, 3:]})
        assert same(answered_outputs(json.loads(answer), protocols[i % 3]), expected), (i, answer, expected)
    joined = [line for line in log_path.read_text().splitlines() if "one model call answered" in line]
    assert joined, "no model call answered several requests: named inputs were not batched under load"


def answered_outputs(body: dict, protocol: str) -> list:
    """The one output of an answer in TF Serving rows, columnar, or the Open Inference Protocol."""
    if protocol == "v2":
        (output,) = body["outputs"]
        return np.reshape(output["data"], output["shape"]).tolist()
    return body["predictions" if protocol == "rows" else "outputs"]


def same(answered: list, expected: np.ndarray) -> bool:
    """float32 answers (written as their shortest float32 repr) equal to onnxruntime's, exactly."""
    return np.asarray(answered, np.float32).tolist() == expected.tolist()


REVIEWS = ["loved the story", "terrible plot, awful", "great acting", "boring and slow", "a wonderful film", "meh"]


@pytest.fixture(scope="module")
def text_classifier(workdir):
    """A Keras classifier whose first layer is TextVectorization: one string per row (input `review`, [?, 1])."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    vectorize = keras.layers.TextVectorization(max_tokens=40, output_sequence_length=4)
    vectorize.adapt(REVIEWS)
    review = keras.Input(shape=(1,), dtype="string", name="review")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(40, 4)(vectorize(review)))
    model = keras.Model(review, keras.layers.Dense(1, activation="sigmoid", name="positive")(pooled))
    model.compile("adam", "binary_crossentropy")
    model.fit(tf.constant([[r] for r in REVIEWS]), np.array([1, 0, 1, 0, 1, 0]), epochs=3, verbose=0)
    path = workdir / "reviews.keras"
    model.save(path)
    return path, lambda texts: model(tf.constant([[t] for t in texts]), training=False).numpy()


def test_a_keras_text_model_takes_one_string_per_row_in_every_format(workdir, text_classifier):
    path, in_process = text_classifier
    texts = [*REVIEWS, 'said "fine", then left']
    expected = in_process(texts)
    payload = workdir / "reviews.csv"
    payload.write_text('loved the story\n"terrible plot, awful"\n')
    project = workdir / "reviews"
    result = mcc_new(project, "--framework", "tensorflow", "--model-file", str(path), "--sample-payload", str(payload))
    assert result.returncode == 0, result.stderr
    schema = json.loads((project / "code" / "schema.json").read_text())
    assert schema["signature"]["inputs"] == [{"name": "review", "dtype": "string", "shape": [None, 1]}]
    csv_body = "".join(('"' + t.replace('"', '""') + '"' if "," in t or '"' in t else t) + "\n" for t in texts)
    python = project_venv(project)
    with LocalServer(project, python=python) as server:
        post = poster(server)

        def close(answer) -> bool:
            np.testing.assert_allclose(np.asarray(answer, np.float32), expected, rtol=1e-5, atol=1e-6)
            return True

        assert close(post(json.dumps({"instances": texts}).encode())["predictions"])
        assert close(post(csv_body.encode(), "text/csv")["predictions"])
        assert close(
            post("".join(json.dumps(t) + "\n" for t in texts).encode(), "application/jsonlines")["predictions"]
        )
        assert close(post(json.dumps({"inputs": {"review": texts}}).encode())["outputs"])
        v2 = {"inputs": [{"name": "review", "shape": [len(texts), 1], "datatype": "BYTES", "data": texts}]}
        (output,) = post(json.dumps(v2).encode())["outputs"]
        assert output["shape"] == [len(texts), 1] and close(np.reshape(output["data"], (-1, 1)))
        status, _, answer = invoke(server.url, b'{"instances": [1, 2]}', "application/json", "application/json")
        assert status == 400
        assert json.loads(answer)["error"].startswith("input review: string[?, 1]: not every value is text")
        for example in readme_examples(project):
            assert post(example)
        tested = run_script(project, "test", "--url", server.url, python=python)
        assert tested.returncode == 0, tested.stdout + tested.stderr
    own = own_tests(project, python)
    assert own.returncode == 0, own.stdout[-2000:] + own.stderr[-2000:]


def test_a_keras_model_of_named_inputs_answers_its_named_outputs(workdir):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(4)
    features, weight = keras.Input(shape=(3,), name="features"), keras.Input(shape=(1,), name="weight")
    logits = keras.layers.Dense(2, name="logits")(keras.layers.Concatenate()([features, weight]))
    model = keras.Model({"features": features, "weight": weight}, {"logits": logits,
                        "value": keras.layers.Dense(1, name="value")(features)})  # fmt: skip
    path = workdir / "two-heads.keras"
    model.save(path)
    inputs = {"features": np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32),
              "weight": np.arange(6, dtype=np.float32).reshape(6, 1)}  # fmt: skip
    expected = {k: v.numpy() for k, v in model({k: tf.constant(v) for k, v in inputs.items()}).items()}
    project = workdir / "two-heads"
    assert mcc_new(project, "--framework", "tensorflow", "--model-file", str(path)).returncode == 0
    columnar = json.dumps({"inputs": {k: v.tolist() for k, v in inputs.items()}}).encode()
    rows = [{"features": f, "weight": w} for f, w in zip(inputs["features"].tolist(), inputs["weight"].tolist(),
                                                         strict=True)]  # fmt: skip
    with LocalServer(project, python=project_venv(project)) as server:
        post = poster(server)
        outputs = post(columnar)["outputs"]
        predictions = post(json.dumps({"instances": rows}).encode())["predictions"]
        status, _, answer = invoke(server.url, b"1,2,3\n", "text/csv", "application/json")
    assert set(outputs) == {"logits", "value"}
    for name, values in expected.items():
        np.testing.assert_allclose(np.asarray(outputs[name], np.float32), values, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray([row[name] for row in predictions], np.float32), values, rtol=1e-5,
                                   atol=1e-6)  # fmt: skip
    assert status == 415 and "takes 2 named inputs (features, weight)" in json.loads(answer)["error"]


def torchscript_models(workdir) -> dict:
    """Two TorchScript models of named inputs: ``forward(features, category)`` and ``forward(inputs: Dict[str,
    Tensor])``, both score = features @ w + table[category]."""
    from typing import Dict  # noqa: UP035 (TorchScript reads this annotation)

    import torch

    class Positional(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = torch.nn.Parameter(torch.tensor([[0.5], [-1.0], [2.0]]))
            self.table = torch.nn.Parameter(torch.tensor([[0.0], [10.0], [20.0], [30.0]]))

        def forward(self, features: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
            return features @ self.weights + self.table[category]

    class Keyed(Positional):
        def forward(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:  # noqa: UP006
            return inputs["features"] @ self.weights + self.table[inputs["category"]]

    paths = {}
    for name, module in (("positional", Positional()), ("keyed", Keyed())):
        paths[name] = workdir / f"{name}.pt"
        torch.jit.script(module.eval()).save(str(paths[name]))
    batch = torch.export.Dim("batch", min=1, max=100_000)
    examples = (torch.ones(2, 3), torch.zeros(2, dtype=torch.int64))
    program = torch.export.export(Positional().eval(), examples, dynamic_shapes=({0: batch}, {0: batch}))
    paths["exported"] = workdir / "exported.pt2"  # an ExportedProgram: its graph records dtypes and shapes
    torch.export.save(program, str(paths["exported"]))
    return paths


TORCH_SIGNATURE = "features: float32[?, 3]; category: int64[?]"


def test_pytorch_models_of_named_inputs_are_served_with_their_declared_or_exported_signature(workdir):
    """TorchScript forwards of positional tensors and of one Dict[str, Tensor], with --signature; an
    ExportedProgram of the same network, whose graph records its own: answered as the model answers in-process."""
    import torch

    models = torchscript_models(workdir)
    features = np.random.default_rng(8).normal(size=(5, 3)).astype(np.float32)
    category = np.array([0, 3, 1, 2, 3])
    loaded = torch.jit.load(str(models["positional"]))
    expected = loaded(torch.from_numpy(features), torch.from_numpy(category)).detach().numpy()
    columnar = json.dumps({"inputs": {"features": features.tolist(), "category": category.tolist()}}).encode()
    refused = mcc_new(workdir / "keyed-undeclared", "--framework", "pytorch", "--model-file", str(models["keyed"]))
    assert refused.returncode == 2 and not (workdir / "keyed-undeclared").exists()
    assert "whose keys the file does not record: declare its inputs: mcc new --signature" in stderr_text(refused)
    wrong = mcc_new(workdir / "misnamed", "--framework", "pytorch", "--model-file", str(models["positional"]),
                    "--signature", "x: float32[?, 3]; y: int64[?]")  # fmt: skip
    assert wrong.returncode == 2
    assert "the declared inputs (x, y) are not the model's own (features, category, in this order)" in stderr_text(
        wrong
    )
    for name, path in models.items():
        project = workdir / f"torch-{name}"
        declared = () if name == "exported" else ("--signature", TORCH_SIGNATURE)
        result = mcc_new(project, "--framework", "pytorch", "--model-file", str(path), *declared)
        assert result.returncode == 0, result.stderr
        schema_file = project / "code" / "schema.json"
        schema = json.loads(schema_file.read_text())
        assert schema["signature"]["inputs"][1] == {"name": "category", "dtype": "int64", "shape": [None]}
        if name == "keyed":  # the start-up refusal's advice: the signature in code/schema.json (restored below)
            schema_file.write_text(json.dumps({k: v for k, v in schema.items() if k != "signature"}))
            line = startup_refusal(project, project_venv(project), {})
            assert line.endswith(f"whose keys the file does not record: {DECLARE_INPUTS}")
            schema_file.write_text(json.dumps(schema))
        with LocalServer(project, python=project_venv(project)) as server:
            post = poster(server)
            answer = post(columnar)["outputs"]
            status, _, error = invoke(server.url, columnar.replace(b"[0, 3,", b"[0.5, 3,"), "application/json",
                                      "application/json")  # fmt: skip
        assert np.asarray(answer, np.float32).tolist() == expected.tolist(), name
        assert status == 400 and json.loads(error)["error"].startswith("input category: int64[?]: the values are")


def test_a_signature_declared_for_a_model_that_records_its_own_is_refused(workdir, two_inputs):
    model, _, _ = two_inputs
    result = mcc_new(workdir / "declared-onnx", "--framework", "onnx", "--model-file", str(model),
                     "--signature", "a: float32[?, 3]; b: float32[?, 2]")  # fmt: skip
    assert result.returncode == 2 and not (workdir / "declared-onnx").exists()
    assert "the model records its own signature (a: float32[?, 3]; b: float32[?, 2]): leave --signature out" in (
        stderr_text(result)
    )
    bad = mcc_new(workdir / "bad-signature", "--framework", "onnx", "--model-file", str(model), "--signature", "a")
    assert bad.returncode == 2
    assert "'a' must read NAME: DTYPE[SIZES], e.g. 'features: float32[?, 4]'" in stderr_text(bad)
