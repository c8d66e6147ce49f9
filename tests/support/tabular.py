"""Models as users train them: fitted on DataFrames with named, mixed-type columns, categories and missing values.

Each builder fits a small model on a synthetic customer table and saves it as the user would; ``Tabular``
carries the file, the fitted model (for in-process reference predictions) and request rows as a DataFrame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

PLANS = ("basic", "pro", "enterprise")
REGIONS = ("eu", "us", "apac")
ROWS = 400


@dataclass(frozen=True)
class Tabular:
    name: str
    framework: str
    path: Path
    model: Any  # what reference predictions are computed with
    rows: pd.DataFrame  # request rows, in the model's column order
    proba: bool = True

    def predict(self, frame: pd.DataFrame) -> list:
        return np.asarray(self.model.predict(frame)).tolist()

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(frame))


def customers(seed: int = 3, rows: int = ROWS) -> tuple[pd.DataFrame, np.ndarray]:
    """age (int), plan (text), income (float), region (text); the target depends on all four."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "plan": rng.choice(PLANS, rows),
            "income": rng.normal(60.0, 15.0, rows).round(2),
            "region": rng.choice(REGIONS, rows),
        }
    )
    score = (
        (frame.age - 45) / 10 + (frame.plan == "enterprise") * 1.5 - (frame.region == "apac") + (frame.income - 60) / 20
    )
    target = (score + rng.normal(0, 0.5, rows) > 0).astype(int).to_numpy()
    return frame, target


def churn_pipeline(directory: Path) -> Tabular:
    """OneHotEncoder on the text columns + StandardScaler on the numbers + LogisticRegression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, target = customers()
    columns = ColumnTransformer(
        [
            ("text", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
            ("numbers", StandardScaler(), ["age", "income"]),
        ]
    )
    model = Pipeline([("columns", columns), ("classifier", LogisticRegression())]).fit(frame, target)
    return _saved("churn-pipeline", "sklearn", model, frame, directory / "churn.joblib")


def churn_with_missing(directory: Path) -> Tabular:
    """The churn model as a new user brings it: plan (text), age, spend with missing values, imputed inside a
    ColumnTransformer + LogisticRegression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, target = customers()
    frame = frame.assign(spend=frame.income)[["plan", "age", "spend"]]
    frame.loc[::7, "spend"] = np.nan
    columns = ColumnTransformer(
        [
            ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "spend"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(frame, target)
    return _saved("churn-with-missing", "sklearn", model, frame, directory / "churn.joblib")


def numeric_by_name(directory: Path) -> Tabular:
    """A ColumnTransformer that selects numeric columns by name (the rest passed through) + LogisticRegression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, target = customers()
    frame = frame.assign(tenure=(frame.age % 7).astype(float))[["age", "tenure", "income"]]
    columns = ColumnTransformer([("scaled", StandardScaler(), ["income", "age"])], remainder="passthrough")
    model = make_pipeline(columns, LogisticRegression()).fit(frame, target)
    return _saved("numeric-by-name", "sklearn", model, frame, directory / "numeric.joblib")


def plain_named(directory: Path) -> Tabular:
    """LogisticRegression fitted on a numeric DataFrame: age, tenure, income (feature_names_in_ recorded)."""
    from sklearn.linear_model import LogisticRegression

    frame, target = customers()
    frame = frame.assign(tenure=(frame.age % 7).astype(float))[["age", "tenure", "income"]]
    model = LogisticRegression(max_iter=1000).fit(frame, target)
    return _saved("plain-named", "sklearn", model, frame, directory / "plain.joblib")


def hist_gradient_boosting(directory: Path) -> Tabular:
    """HistGradientBoostingClassifier on numbers with missing values (it takes NaN natively)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame, target = customers()
    frame = frame[["age", "income"]].astype(float)
    frame.loc[::9, "income"] = np.nan
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(frame, target)
    return _saved("hist-gradient-boosting", "sklearn", model, frame, directory / "hgb.joblib")


def lightgbm_category(directory: Path) -> Tabular:
    """LightGBM Booster (text format) fitted with a pandas category column and missing incomes."""
    import lightgbm

    frame, target = customers()
    frame = frame[["age", "plan", "income"]].assign(plan=pd.Categorical(frame.plan, categories=PLANS))
    frame.loc[::11, "income"] = np.nan
    model = lightgbm.LGBMClassifier(n_estimators=30, random_state=0, verbose=-1).fit(frame, target)
    path = directory / "lightgbm.txt"
    model.booster_.save_model(str(path))
    return Tabular("lightgbm-category", "lightgbm", path, model, frame.head(40))


def xgboost_categorical(directory: Path) -> Tabular:
    """XGBoost Booster (JSON) fitted with enable_categorical on a category column."""
    import xgboost

    frame, target = customers()
    frame = frame[["age", "region", "income"]].assign(region=pd.Categorical(frame.region, categories=REGIONS))
    frame.loc[::13, "income"] = np.nan
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=3, enable_categorical=True, n_jobs=1).fit(frame, target)
    path = directory / "xgboost.json"
    model.get_booster().save_model(str(path))
    return Tabular("xgboost-categorical", "xgboost", path, model, frame.head(40))


def _saved(name: str, framework: str, model: Any, frame: pd.DataFrame, path: Path) -> Tabular:
    joblib.dump(model, path)
    return Tabular(name, framework, path, model, frame.head(40))


def csv_body(frame: pd.DataFrame, header: bool = True) -> bytes:
    """The rows as ``DataFrame.to_csv`` writes them (missing values as empty fields)."""
    return frame.to_csv(index=False, header=header).encode()


def records_body(frame: pd.DataFrame) -> bytes:
    return json.dumps(_records(frame)).encode()


def instances_body(frame: pd.DataFrame) -> bytes:
    return json.dumps({"instances": _records(frame)}).encode()


def split_body(frame: pd.DataFrame) -> bytes:
    return json.dumps({"columns": list(frame.columns), "data": [list(r.values()) for r in _records(frame)]}).encode()


def jsonlines_body(frame: pd.DataFrame) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in _records(frame)).encode()


def open_inference_body(frame: pd.DataFrame) -> bytes:
    """The rows as an Open Inference Protocol request, one tensor per column as MLServer's pandas codec sends
    them (missing values as null)."""
    records = _records(frame)
    kinds = {"i": "INT64", "u": "INT64", "f": "FP64", "b": "BOOL"}
    inputs = [
        {"name": name, "datatype": kinds.get(frame[name].dtype.kind, "BYTES"), "shape": [len(frame)],
         "data": [record[name] for record in records]}
        for name in frame.columns
    ]  # fmt: skip
    return json.dumps({"inputs": inputs}).encode()


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects: NaN as null, numpy scalars as plain numbers, categories as their text."""
    return json.loads(frame.astype(object).where(frame.notna(), None).to_json(orient="records"))


BUILDERS = {
    "churn-pipeline": churn_pipeline,
    "numeric-by-name": numeric_by_name,
    "hist-gradient-boosting": hist_gradient_boosting,
    "lightgbm-category": lightgbm_category,
    "xgboost-categorical": xgboost_categorical,
}
