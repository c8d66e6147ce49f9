"""inference.py files in the style of AWS's SageMaker framework containers' users (their examples' idioms)."""

from __future__ import annotations

import textwrap

# In AWS's own style: a CSV str read through StringIO (as their pd.read_csv examples do; numpy here, which every
# image has), a JSON document, answers as str with their type.
AWS_STYLE = textwrap.dedent("""
    import json
    import os
    from io import StringIO

    import joblib
    import numpy as np


    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))


    def input_fn(input_data, content_type):
        if content_type == "text/csv":
            return np.loadtxt(StringIO(input_data), delimiter=",", ndmin=2)
        if content_type == "application/json":
            return np.array(json.loads(input_data)["instances"])
        if content_type == "application/x-npy":
            return np.load(__import__("io").BytesIO(input_data))
        raise ValueError(f"unsupported content type {content_type}")


    def predict_fn(input_data, model):
        return model.predict_proba(input_data)


    def output_fn(prediction, accept):
        if accept == "text/csv":
            return "\\n".join(",".join(f"{p:.6f}" for p in row) for row in prediction), accept
        return json.dumps({"scores": prediction.tolist()})
""")

TRANSFORM_STYLE = textwrap.dedent("""
    import json
    import os
    from io import StringIO

    import joblib
    import pandas as pd


    def model_fn(model_dir, context):
        return {"model": joblib.load(os.path.join(model_dir, "model.joblib")),
                "dir": context.system_properties["model_dir"]}


    def transform_fn(model, request_body, content_type, accept):
        rows = pd.read_csv(StringIO(request_body), header=None)
        labels = model["model"].predict(rows.to_numpy()).tolist()
        return json.dumps({"labels": labels, "model_dir": model["dir"], "accept": accept}), "application/json"
""")
