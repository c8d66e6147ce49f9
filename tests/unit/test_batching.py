"""Adaptive batching: requests queued while the model is busy share one call, each answered with its own rows."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import numpy as np
import pandas as pd
import pytest

from mcc.render import render_template
from mcc_runtime import codecs
from mcc_runtime.batching import Dispatcher, LoopAnswer, join, row_count, split
from mcc_runtime.errors import BadRequest
from mcc_runtime.hooks import is_default_delegate
from mcc_runtime.schema import InputSchema
from mcc_runtime.service import Reply, build_service
from mcc_runtime.tensors import NamedInputs, NamedOutputs
from tests.support.graphs import two_input_body, two_input_onnx
from tests.support.tabular import churn_pipeline

from .runtime_fixtures import ONNX_SERVING, make_project, settings_for

CSV = {"content_type": "text/csv", "accept": "application/json"}


def csv_body(rows) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


class HeldModel:
    """Wraps a service's predict so the model thread can be held busy while requests queue behind it."""

    def __init__(self, service, refuse=None):
        self.service, self.refuse = service, refuse
        self.release, self.running = threading.Event(), threading.Event()
        self.calls: list[int] = []
        self._predict = service.predict
        service.predict = self.predict

    def predict(self, data):
        self.calls.append(len(data))
        self.running.set()
        self.release.wait(10)
        if self.refuse is not None and self.refuse(data):
            raise BadRequest("the model rejected the input: a row this model refuses")
        return self._predict(data)


@pytest.fixture
def wine_service(tmp_path, wine_model_file):
    return build_service(settings_for(make_project(tmp_path, wine_model_file)))


def test_arrays_join_and_predictions_split_back_into_each_requests_rows():
    parts = [np.ones((2, 3)), np.zeros((1, 3)), np.full((3, 3), 2.0)]
    joined = join(parts)
    assert joined.shape == (6, 3)
    back = split(np.arange(6), [2, 1, 3])
    assert [p.tolist() for p in back] == [[0, 1], [2], [3, 4, 5]]
    columns = split({"predictions": np.arange(6), "probabilities": np.eye(6)}, [2, 1, 3])
    assert columns[1]["predictions"].tolist() == [2] and columns[2]["probabilities"].shape == (3, 6)


def test_rows_that_would_change_type_when_joined_are_not_joined():
    assert join([np.ones((1, 3)), np.ones((1, 4))]) is None  # other widths
    assert join([np.ones((1, 3)), np.ones((1, 3), dtype=np.float32)]) is None
    plans = pd.Categorical(["basic"], categories=["basic", "pro"])
    other = pd.Categorical(["pro"], categories=["pro", "basic"])
    same = pd.DataFrame({"plan": pd.Categorical(["pro"], categories=["basic", "pro"]), "age": [3.0]})
    first = pd.DataFrame({"plan": plans, "age": [1.0]})
    joined = join([first, same])
    assert joined["plan"].tolist() == ["basic", "pro"] and joined["plan"].dtype == first["plan"].dtype
    assert join([first, pd.DataFrame({"plan": other, "age": [2.0]})]) is None  # categories in another order
    assert join([first, pd.DataFrame({"age": [1.0], "plan": plans})]) is None  # columns in another order


def test_a_prediction_that_is_not_one_entry_per_row_is_not_split():
    assert split(np.arange(5), [2, 2]) is None
    assert split([0, 1], [1, 1]) is None
    assert split({"predictions": np.arange(4), "extra": np.arange(3)}, [2, 2]) is None


def test_requests_queued_while_the_model_is_busy_share_one_call_and_get_their_own_rows(wine_service, wine, wine_model):
    held = HeldModel(wine_service)
    dispatcher = Dispatcher(wine_service, max_batch_size=64, max_wait_s=0)
    rows = wine[0]
    first = dispatcher.submit(csv_body(rows[:1]), **CSV)
    assert held.running.wait(5)
    accepts = ["application/json", "text/csv"]
    queued = [dispatcher.submit(csv_body(rows[i : i + 1 + i % 3]), "text/csv", accepts[i % 2]) for i in range(1, 41)]
    held.release.set()
    assert json.loads(first.result(10).body)["predictions"] == wine_model.predict(rows[:1]).tolist()
    for i, answer in enumerate(queued, start=1):
        reply = answer.result(10)
        expected = wine_model.predict(rows[i : i + 1 + i % 3]).tolist()
        assert reply.status == 200 and reply.content_type == accepts[i % 2]
        got = json.loads(reply.body)["predictions"] if i % 2 == 0 else [int(v) for v in reply.body.split()]
        assert got == expected
    assert held.calls[0] == 1 and sum(held.calls[1:]) == sum(1 + i % 3 for i in range(1, 41))
    assert len(held.calls) == 2  # the 40 queued requests: one call
    assert (dispatcher.joined_calls, dispatcher.joined_requests) == (1, 40)


def test_a_bad_request_in_a_batch_gets_its_own_error_and_the_others_their_answers(wine_service, wine, wine_model):
    held = HeldModel(wine_service, refuse=lambda data: (data[:, 0] == -999).any())
    dispatcher = Dispatcher(wine_service, max_batch_size=64, max_wait_s=0)
    rows = wine[0]
    busy = dispatcher.submit(csv_body(rows[:1]), **CSV)
    assert held.running.wait(5)
    poisoned = rows[5:6].copy()
    poisoned[0, 0] = -999
    good = [dispatcher.submit(csv_body(rows[i : i + 1]), **CSV) for i in range(1, 5)]
    refused = dispatcher.submit(csv_body(poisoned), **CSV)
    unreadable = dispatcher.submit(b"1,2,not-a-number\n", **CSV)
    good.append(dispatcher.submit(csv_body(rows[6:8]), **CSV))
    held.release.set()
    busy.result(10)
    assert refused.result(10).status == 400 and "refuses" in json.loads(refused.result().body)["error"]
    assert unreadable.result(10).status == 400
    expected = [wine_model.predict(rows[i : i + 1]).tolist() for i in range(1, 5)] + [
        wine_model.predict(rows[6:8]).tolist()
    ]
    assert [json.loads(a.result(10).body)["predictions"] for a in good] == expected
    # one joined call that failed, then each readable request on its own
    assert held.calls[1:] == [7, 1, 1, 1, 1, 1, 2]


def test_callers_on_an_event_loop_share_one_call_and_get_their_own_rows(wine_service, wine, wine_model):
    held = HeldModel(wine_service)
    dispatcher = Dispatcher(wine_service, max_batch_size=64, max_wait_s=0)
    rows = wine[0]
    loop_errors = []

    async def scenario():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: loop_errors.append(context))
        busy = asyncio.ensure_future(dispatcher.answer(csv_body(rows[:1]), **CSV))
        assert await asyncio.to_thread(held.running.wait, 5)  # the loop runs while the model thread is held
        queued = [asyncio.ensure_future(dispatcher.answer(csv_body(rows[i : i + 2]), **CSV)) for i in range(1, 21)]
        gone = asyncio.ensure_future(dispatcher.answer(csv_body(rows[30:31]), **CSV))
        await asyncio.sleep(0.05)
        gone.cancel()  # its client went away while the model was busy
        held.release.set()
        replies = await busy, await asyncio.gather(*queued)
        await asyncio.sleep(0.05)  # the cancelled request's answer reaches the loop too
        return replies

    busy, replies = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert json.loads(busy.body)["predictions"] == wine_model.predict(rows[:1]).tolist()
    for i, reply in enumerate(replies, start=1):
        assert reply.status == 200
        assert json.loads(reply.body)["predictions"] == wine_model.predict(rows[i : i + 2]).tolist()
    assert held.calls[0] == 1 and held.calls[1] == 41  # the queued requests and the cancelled one: one call
    assert loop_errors == []
    closed = asyncio.new_event_loop()
    answer = LoopAnswer(closed)
    closed.close()
    answer.set_result(Reply(200, b"{}"))  # a reply after the worker's loop closed is dropped, not raised


def test_an_idle_server_does_not_wait_but_a_batch_waits_for_requests_on_their_way(wine_service, wine, wine_model):
    dispatcher = Dispatcher(wine_service, max_batch_size=8, max_wait_s=5.0)
    rows = wine[0]
    started = time.monotonic()
    assert dispatcher.submit(csv_body(rows[:1]), **CSV).result(10).status == 200
    assert time.monotonic() - started < 2.5  # nothing on its way: no wait for the 5 s delay
    with dispatcher.arriving():  # a second request is being received while the first is queued
        first = dispatcher.submit(csv_body(rows[1:2]), **CSV)
        time.sleep(0.2)
        second = dispatcher.submit(csv_body(rows[2:3]), **CSV)
    assert [json.loads(a.result(10).body)["predictions"] for a in (first, second)] == [
        wine_model.predict(rows[1:2]).tolist(),
        wine_model.predict(rows[2:3]).tolist(),
    ]
    assert dispatcher.joined_calls == 1


def test_dataframe_rows_are_joined_and_answered_as_the_pipeline_predicts(tmp_path):
    tabular = churn_pipeline(tmp_path)
    service = build_service(settings_for(make_project(tmp_path / "p", tabular.path), MCC_PREDICT_OUTPUT="both"))
    held = HeldModel(service)
    dispatcher = Dispatcher(service, max_batch_size=64, max_wait_s=0)
    frame = tabular.rows.head(30)
    busy = dispatcher.submit(frame.head(1).to_csv(index=False).encode(), **CSV)
    assert held.running.wait(5)
    answers = [dispatcher.submit(frame.iloc[[i]].to_csv(index=False).encode(), **CSV) for i in range(30)]
    held.release.set()
    busy.result(10)
    for i, answer in enumerate(answers):
        body = json.loads(answer.result(10).body)
        assert body["predictions"] == tabular.predict(frame.iloc[[i]])
        np.testing.assert_allclose(body["probabilities"], tabular.predict_proba(frame.iloc[[i]]), rtol=0, atol=1e-12)
    assert dispatcher.joined_requests == 30


def test_a_users_own_predict_fn_is_batched_only_when_declared_batchable(tmp_path, wine_model_file):
    own = "def predict_fn(data, model):\n    return model.predict(data)\n"
    plain = build_service(settings_for(make_project(tmp_path / "a", wine_model_file, own)))
    declared = build_service(settings_for(make_project(tmp_path / "b", wine_model_file, own + "BATCHABLE = True\n")))
    assert (plain.batchable, declared.batchable) == (False, True)
    assert Dispatcher(plain, 32, 0).batching is False and Dispatcher(declared, 32, 0).batching is True


def test_the_watchdog_reports_a_model_call_that_hangs(wine_service, wine):
    stuck = threading.Event()
    wine_service.worker_timeout_s = 0.4
    held = HeldModel(wine_service)
    dispatcher = Dispatcher(wine_service, max_batch_size=4, max_wait_s=0, on_stuck=stuck.set)
    dispatcher.submit(csv_body(wine[0][:1]), **CSV)
    assert stuck.wait(5)
    held.release.set()


@pytest.fixture
def two_input_service(tmp_path):
    graph = tmp_path / "two-inputs.onnx"
    two_input_onnx(graph)
    return build_service(settings_for(make_project(tmp_path / "p", graph, **ONNX_SERVING))), graph


def test_named_inputs_join_per_input_and_each_request_is_answered_in_its_own_protocol(two_input_service):
    """Requests in TF Serving rows, columnar and the Open Inference Protocol share one ONNX Runtime call; each
    answer is that request's rows, in that request's protocol; a request whose input has another width is
    predicted on its own."""
    import onnxruntime

    service, graph = two_input_service
    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    rows = np.random.default_rng(3).normal(size=(30, 5)).astype(np.float32)
    held = HeldModel(service)
    dispatcher = Dispatcher(service, max_batch_size=64, max_wait_s=0)
    assert dispatcher.batching
    busy = dispatcher.submit(two_input_body("rows", rows[:1]), codecs.JSON, codecs.JSON)
    assert held.running.wait(5)
    protocols = ["rows", "columnar", "v2"]
    queued = [
        dispatcher.submit(two_input_body(protocols[i % 3], rows[i : i + 1 + i % 2]), codecs.JSON, codecs.JSON)
        for i in range(1, 28)
    ]
    too_wide = dispatcher.submit(json.dumps({"inputs": {"a": [[1, 2, 3, 4]], "b": [[1, 2]]}}).encode(),
                                 codecs.JSON, codecs.JSON)  # fmt: skip
    held.release.set()
    busy.result(10)
    for i, answer in enumerate(queued, start=1):
        part = rows[i : i + 1 + i % 2]
        (expected,) = session.run(None, {"a": part[:, :3], "b": part[:, 3:]})
        body = json.loads(answer.result(10).body)
        if protocols[i % 3] == "v2":
            (output,) = body["outputs"]
            assert output["shape"] == list(expected.shape)
            got = output["data"]
        else:
            got = body["predictions" if protocols[i % 3] == "rows" else "outputs"]
        np.testing.assert_allclose(np.asarray(got).reshape(-1), expected.reshape(-1), rtol=1e-6)
    assert too_wide.result(10).status == 400
    assert "dimension 1 is 4, it must be 3" in json.loads(too_wide.result().body)["error"]
    assert (dispatcher.joined_calls, dispatcher.joined_requests) == (1, 27)


def test_named_inputs_join_only_with_the_same_names_dtypes_and_shapes():
    first = NamedInputs({"a": np.ones((2, 3), np.float32), "text": np.array(["x", "y"], dtype=object)})
    same = NamedInputs({"a": np.zeros((1, 3), np.float32), "text": np.array(["z"], dtype=object)})
    joined = join([first, same])
    assert joined["a"].shape == (3, 3) and joined["text"].tolist() == ["x", "y", "z"]
    assert row_count(first) == 2 and row_count(NamedInputs({"a": np.ones(2), "b": np.ones(3)})) is None
    assert join([first, NamedInputs({"text": same["text"], "a": same["a"]})]) is None  # another order
    assert join([first, NamedInputs({"a": np.zeros((1, 4), np.float32), "text": same["text"]})]) is None
    assert join([first, NamedInputs({"a": np.zeros((1, 3)), "text": same["text"]})]) is None  # float64
    outputs = split(NamedOutputs({"score": np.arange(3.0)}, "columnar"), [2, 1])
    assert all(isinstance(part, NamedOutputs) for part in outputs) and outputs[1]["score"].tolist() == [2.0]


def generated_inference_py() -> str:
    """code/inference.py as mcc new writes it: each hook delegating to the runtime's defaults."""
    return render_template(
        "code/inference.py.j2", "predictive", {"project_name": "churn", "framework": {"display_name": "scikit-learn"}}
    )


def queued_behind_a_busy_model(service, bodies):
    """Submit ``bodies`` while the model thread is held on a first request; their answers, and the model's calls."""
    held = HeldModel(service)
    dispatcher = Dispatcher(service, max_batch_size=64, max_wait_s=0)
    busy = dispatcher.submit(bodies[0], **CSV)
    assert held.running.wait(5)
    answers = [dispatcher.submit(body, **CSV) for body in bodies]
    held.release.set()
    busy.result(10)
    return [answer.result(10) for answer in answers], held.calls[1:], dispatcher


@pytest.mark.parametrize("inference_py", [None, "generated"])
def test_the_default_input_fn_conforms_a_batch_together_and_each_request_gets_its_own_rows(tmp_path, inference_py):
    """With the runtime's input_fn (no inference.py, or the generated one unchanged) the batch's rows are conformed
    to the pipeline's columns at once; one bad request gets its own 400 (its own row numbers), the others their
    answers from one model call."""
    tabular = churn_pipeline(tmp_path)
    own = generated_inference_py() if inference_py else None
    service = build_service(settings_for(make_project(tmp_path / "p", tabular.path, own), MCC_PREDICT_OUTPUT="both"))
    assert service.conforms_together
    frame = tabular.rows.head(12)
    bodies = [frame.iloc[[i]].to_csv(index=False, header=i % 2 == 0).encode() for i in range(12)]
    replies, calls, dispatcher = queued_behind_a_busy_model(service, bodies)
    assert calls == [12] and dispatcher.joined_requests == 12
    for i, reply in enumerate(replies):
        body = json.loads(reply.body)
        assert body["predictions"] == tabular.predict(frame.iloc[[i]])
        np.testing.assert_allclose(body["probabilities"], tabular.predict_proba(frame.iloc[[i]]), rtol=0, atol=1e-12)
    bad = frame.head(2).to_csv(index=False).replace(str(frame.iloc[1]["age"]), "old", 1).encode()
    replies, calls, _ = queued_behind_a_busy_model(service, [*bodies[:3], bad])
    assert replies[3].status == 400 and "row 2, column 'age'" in json.loads(replies[3].body)["error"]
    assert [json.loads(r.body)["predictions"] for r in replies[:3]] == [
        tabular.predict(frame.iloc[[i]]) for i in range(3)
    ]
    assert calls == [3]  # the readable three, joined as before


def test_an_edited_input_fn_is_called_once_per_request(tmp_path):
    tabular = churn_pipeline(tmp_path)
    edited = generated_inference_py().replace(
        "    return defaults.input_fn(request_body, content_type)",
        "    rows = defaults.input_fn(request_body, content_type)\n    return rows.assign(age=rows.age + 0)",
    )
    assert edited != generated_inference_py()
    service = build_service(settings_for(make_project(tmp_path / "p", tabular.path, edited)))
    assert not service.conforms_together
    frame = tabular.rows.head(4)
    bodies = [frame.iloc[[i]].to_csv(index=False).encode() for i in range(4)]
    replies, calls, _ = queued_behind_a_busy_model(service, bodies)
    assert calls == [4] and [json.loads(r.body)["predictions"] for r in replies] == [
        tabular.predict(frame.iloc[[i]]) for i in range(4)
    ]


DELEGATE = """from mcc_runtime import defaults

def input_fn(request_body, content_type):
    return defaults.input_fn(request_body, content_type)
"""


def test_only_the_generated_delegation_counts_as_the_default_input_fn():
    namespace: dict = {}
    exec(generated_inference_py(), namespace)  # the project's own generated file
    assert is_default_delegate(namespace["input_fn"])
    for changed in (
        DELEGATE.replace("(request_body, content_type)\n", "(request_body.strip(), content_type)\n"),
        DELEGATE.replace("request_body", "body"),
        DELEGATE.replace("defaults.input_fn", "defaults.predict_fn"),
    ):
        other: dict = {"defaults": namespace["defaults"]}
        exec(changed, other)
        assert not is_default_delegate(other["input_fn"]), changed
    impostor: dict = {}
    exec(DELEGATE.replace("mcc_runtime import defaults", "types import SimpleNamespace as defaults"), impostor)
    assert not is_default_delegate(impostor["input_fn"])  # another object called defaults
    same: dict = {"defaults": namespace["defaults"]}
    exec(DELEGATE, same)
    assert is_default_delegate(same["input_fn"])


def test_requests_that_cannot_be_conformed_together_never_fail_each_other(tmp_path, wine_model_file, wine):
    """Rows of other widths for a model that records no width: joining them raises; each is then answered alone."""
    service = build_service(settings_for(make_project(tmp_path, wine_model_file)))
    service.hooks.tables.schema = InputSchema()  # as a model that records no feature count
    rows = wine[0]
    bodies = [csv_body(rows[:4]), csv_body(rows[4:5]), b"1,2\n3,4\n5,6\n7,8\n"]
    replies, calls, _ = queued_behind_a_busy_model(service, bodies)
    assert [r.status for r in replies] == [200, 200, 400]
    assert [json.loads(r.body)["predictions"] for r in replies[:2]] == [
        service.model.predict(rows[:4]).tolist(),
        service.model.predict(rows[4:5]).tolist(),
    ]
    assert calls == [4, 1, 4]  # rows of other widths do not join: each request on its own
