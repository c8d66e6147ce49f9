"""Inference hooks for xg (XGBoost).

The serving runtime calls four functions, with the contract of SageMaker's own framework containers (an
inference.py written for them runs here unchanged):

    model_fn(model_dir)                   -> model       once per process, before serving
    input_fn(request_body, content_type)  -> data        the request body: a str for text/csv and
                                                         application/json, bytes for other types
    predict_fn(data, model)               -> prediction
    output_fn(prediction, accept)         -> bytes or str (or a (body, content_type) tuple)

Instead of input_fn, predict_fn and output_fn, you may define transform_fn(model, request_body,
content_type, accept) alone. A request without Accept (or with */*) gets SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT,
default application/json.

Each one below delegates to the runtime's default for XGBoost: rows of numbers in
(CSV, JSON, JSON Lines or NPY), ``{"predictions": [...]}`` and/or ``{"probabilities": [...]}`` out (as JSON,
CSV, JSON Lines or NPY, by the Accept header). Change any of them — feature engineering in input_fn,
post-processing in predict_fn — or delete one to use the default. Raise
``mcc_runtime.errors.BadRequest("why")`` for input the model cannot take: the client gets a 400 JSON
error and the server keeps serving.
"""

from mcc_runtime import defaults

# The response types output_fn writes: the Accept header is negotiated against them, and a request asking for
# none of them gets 406 before the model runs. Without this line output_fn gets the Accept type as sent.
OUTPUT_CONTENT_TYPES = defaults.OUTPUT_CONTENT_TYPES

# Adaptive batching: requests that arrive while the model is busy share one predict_fn call (their rows joined,
# each request answered with exactly its own). The default predict_fn predicts each row on its own, and the
# runtime knows which models do; set BATCHABLE = False if your predict_fn's answer for a row depends on the
# other rows of its call (True, False, or a function of the model).
BATCHABLE = defaults.row_independent


def model_fn(model_dir):
    return defaults.model_fn(model_dir)


def input_fn(request_body, content_type):
    return defaults.input_fn(request_body, content_type)


def predict_fn(data, model):
    return defaults.predict_fn(data, model)


def output_fn(prediction, accept):
    return defaults.output_fn(prediction, accept)
