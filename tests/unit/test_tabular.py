"""The input schema in-process: what each framework's artifact records, requests conformed to it (array or
DataFrame), every per-field error, missing values, BOM, LIBSVM and the bare JSON answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mcc_runtime import codecs
from mcc_runtime import tabular as tabular_module
from mcc_runtime.defaults import DefaultHooks
from mcc_runtime.errors import BadRequest, UnsupportedMediaType
from mcc_runtime.handlers import load_handler, model_schema
from mcc_runtime.schema import Column, InputSchema, SchemaError, reconcile
from mcc_runtime.settings import Settings
from tests.support import tabular

FORMATS = {"sklearn": "joblib", "lightgbm": "txt", "xgboost": "json"}
CHURN = InputSchema(
    (
        Column("age", missing=False),
        Column("plan", "category", ("basic", "pro", "NA")),
        Column("income"),
        Column("member", "boolean"),
    ),
    frame=True,
)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tabular")
    return {name: build(directory) for name, build in tabular.BUILDERS.items()}


def schema_of(model: tabular.Tabular) -> InputSchema:
    handler = load_handler(model.framework)
    return reconcile(InputSchema(), model_schema(handler, handler.load(model.path, FORMATS[model.framework])))


def kinds(schema: InputSchema) -> list[tuple]:
    return [(c.name, c.kind, c.categories, c.missing) for c in schema.columns]


def test_a_column_transformer_pipeline_records_text_columns_with_their_categories(models):
    schema = schema_of(models["churn-pipeline"])
    assert schema.frame and schema.source == "model"
    assert kinds(schema) == [
        ("age", "number", (), False),  # StandardScaler passes NaN on to LogisticRegression, which refuses it
        ("plan", "text", ("basic", "enterprise", "pro"), True),  # handle_unknown="ignore": others are allowed
        ("income", "number", (), False),
        ("region", "text", ("apac", "eu", "us"), True),
    ]


def test_a_model_that_takes_nan_allows_missing_values_in_every_column(models):
    schema = schema_of(models["hist-gradient-boosting"])
    assert not schema.frame and kinds(schema) == [("age", "number", (), True), ("income", "number", (), True)]


def test_lightgbm_and_xgboost_record_their_category_columns_and_values(models):
    assert kinds(schema_of(models["lightgbm-category"]))[1] == ("plan", "category", tabular.PLANS, True)
    assert kinds(schema_of(models["xgboost-categorical"]))[1] == ("region", "category", tabular.REGIONS, True)


def test_a_model_fitted_on_an_array_records_only_its_width(wine_model):
    assert model_schema(load_handler("sklearn"), wine_model) == InputSchema(width=13)


@pytest.mark.parametrize("name", list(tabular.BUILDERS))
def test_every_request_shape_conforms_to_what_model_predict_gets(models, name):
    model = models[name]
    schema = schema_of(model)
    for make, content_type in (
        (tabular.csv_body, "text/csv"),
        (tabular.split_body, "application/json"),
        (tabular.jsonlines_body, "application/jsonlines"),
    ):
        data = codecs.decode(make(model.rows), content_type, schema)
        assert load_handler(model.framework).predict(model.model, data).tolist() == model.predict(model.rows)


def test_a_numeric_array_reaches_a_model_that_selects_columns_by_name_as_a_dataframe(models):
    import io

    model = models["numeric-by-name"]
    buffer = io.BytesIO()
    np.save(buffer, model.rows.to_numpy(dtype=np.float64))
    data = codecs.decode(buffer.getvalue(), "application/x-npy", schema_of(model))
    assert isinstance(data, pd.DataFrame) and list(data.columns) == ["age", "tenure", "income"]
    assert model.model.predict(data).tolist() == model.predict(model.rows)


def test_numeric_models_keep_the_float_array_path(models):
    data = codecs.decode(
        tabular.csv_body(models["hist-gradient-boosting"].rows), "text/csv", schema_of(models["hist-gradient-boosting"])
    )
    assert isinstance(data, np.ndarray) and data.dtype == np.float64


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"age,plan,income,member\n,pro,1,true\n",
            "row 1, column 'age': the value is missing, and this model cannot "
            "take missing values there (expected a number)",
        ),
        (b"41,gold,1,true\n", "row 1, column 'plan': 'gold' is not one of basic, pro, NA"),
        (b"41,pro,1,true\n41,pro,abc,true\n", "row 2, column 'income': 'abc' is not a number"),
        (b"41,pro,1,perhaps\n", "row 1, column 'member': 'perhaps' is not true or false"),
        (b"41,pro,1\n", "rows have 3 values, but the model takes 4 (age, plan, income, member)"),
        (b"age,plan,member\n1,pro,true\n", "columns: missing income (expected age, plan, income, member)"),
        (b"age,plan,income,member,x\n1,pro,1,true,2\n", "columns: unknown x (expected age, plan, income, member)"),
    ],
)
def test_every_field_error_names_row_column_value_and_expectation(body, message):
    with pytest.raises(BadRequest) as raised:
        codecs.decode(body, "text/csv", CHURN)
    assert raised.value.message == message


def test_json_field_errors_are_as_precise():
    with pytest.raises(BadRequest, match=r"row 2, column 'income': \[1\] is not a number"):
        codecs.decode(b'{"columns": ["age","plan","income","member"], "data": [[1,"pro",1,true],[1,"pro",[1],true]]}',
                      "application/json", CHURN)  # fmt: skip
    with pytest.raises(BadRequest, match="row 2: missing member; unknown membr"):
        codecs.decode(b'[{"age":1,"plan":"pro","income":1,"member":true},{"age":1,"plan":"pro","income":1,"membr":1}]',
                      "application/json", CHURN)  # fmt: skip


def test_a_frame_gets_the_schemas_dtypes_and_missing_values_in_every_spelling():
    frame = codecs.decode(b"41,pro,,true\n42,NA,NA,0\n43,basic,null,yes\n", "text/csv", CHURN)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["age", "plan", "income", "member"]
    assert frame["plan"].dtype == "category" and list(frame["plan"].cat.categories) == ["basic", "pro", "NA"]
    assert frame["plan"].tolist() == ["pro", "NA", "basic"]  # a category literally named NA stays a value
    assert frame["income"].isna().all() and frame["member"].tolist() == [True, False, True]


def test_empty_csv_fields_and_json_nulls_are_nan_on_the_array_path():
    schema = InputSchema((Column("a"), Column("b")))
    np.testing.assert_array_equal(codecs.decode(b"1,\n,NA\n", "text/csv", schema), [[1, np.nan], [np.nan, np.nan]])
    np.testing.assert_array_equal(codecs.decode(b"[[1, null]]", "application/json", schema), [[1, np.nan]])


def test_a_first_row_of_missing_values_is_data_not_a_header():
    schema = InputSchema((Column("a"), Column("b")))
    np.testing.assert_array_equal(codecs.decode(b",\n1,2\n", "text/csv", schema), [[np.nan, np.nan], [1, 2]])


def test_a_utf8_bom_is_ignored_in_every_text_encoding():
    schema = InputSchema((Column("a"), Column("b")))
    bom = b"\xef\xbb\xbf"
    for body, content_type in ((b"a,b\n1,2\n", "text/csv"), (b'[{"a":1,"b":2}]', "application/json"),
                               (b'{"a":1,"b":2}\n', "application/jsonlines")):  # fmt: skip
        np.testing.assert_array_equal(codecs.decode(bom + body, content_type, schema), [[1, 2]])


def test_mlflow_and_pandas_split_and_records_shapes_decode():
    schema = InputSchema((Column("a"), Column("b")))
    for document in (
        {"dataframe_split": {"columns": ["b", "a"], "data": [[2, 1]]}},
        {"dataframe_records": [{"b": 2, "a": 1}]},
        {"columns": ["b", "a"], "index": [0], "data": [[2, 1]]},
    ):
        np.testing.assert_array_equal(
            codecs.decode(json.dumps(document).encode(), "application/json", schema), [[1, 2]]
        )


def test_libsvm_rows_match_xgboosts_own_sparse_prediction(tmp_path, wine):
    import scipy.sparse
    import xgboost

    from mcc import samples

    path = tmp_path / "model.json"
    samples.save("wine_xgboost", "json", path)
    booster = xgboost.Booster(model_file=str(path))
    rows = wine[0][:4].copy()
    rows[1, 3] = rows[2, 0] = 0.0
    sparse = scipy.sparse.csr_matrix(rows)  # the zeros are left out, as a LIBSVM writer leaves them out
    lines = [" ".join(["1", *(f"{i}:{float(v)!r}" for i, v in zip(r.indices, r.data, strict=True))]) for r in sparse]
    settings = Settings(code_dir=tmp_path, model_dir=tmp_path, handler="xgboost", model_format="json",
                        model_filename="model.json", predict_output="proba", input_types=("text/libsvm",))  # fmt: skip
    hooks = DefaultHooks(settings)
    model = hooks.model_fn(str(tmp_path))
    data = hooks.input_fn("\n".join(lines).encode(), "text/libsvm")
    assert np.isnan(data[1, 3]) and np.isnan(data[2, 0])  # absent is missing, as in XGBoost's own sparse input
    np.testing.assert_array_equal(hooks.predict_fn(data, model)["probabilities"], booster.inplace_predict(sparse))
    with pytest.raises(BadRequest, match="feature index 20, but the model takes 13"):
        hooks.input_fn(b"1 20:1.5\n", "text/libsvm")
    with pytest.raises(UnsupportedMediaType):
        codecs.decode(b"1 0:1.5\n", "text/libsvm")  # only where the framework takes it


def test_every_extra_request_type_in_the_catalog_has_a_parser_and_a_readme_line(catalog):
    from mcc.examples import REQUEST_TYPE_NOTES

    extra = {media for framework in catalog.frameworks.values() for media in framework.input_types}
    assert extra == {"text/libsvm", "application/x-npz", "application/x-recordio-protobuf"}
    assert extra <= set(codecs.PARSERS) and extra == set(REQUEST_TYPE_NOTES)


def test_bare_json_answers_are_arrays_as_aws_containers_answer():
    labels, proba = np.array([1, 0]), np.array([[0.25, 0.75], [0.5, 0.5]])
    assert json.loads(codecs.encode(labels, "application/json", bare_json=True)) == [1, 0]
    assert json.loads(codecs.encode({"probabilities": proba}, "application/json", bare_json=True)) == proba.tolist()
    both = codecs.encode({"predictions": labels, "probabilities": proba}, "application/json", bare_json=True)
    assert json.loads(both) == [{"prediction": 1, "probabilities": [0.25, 0.75]},
                                {"prediction": 0, "probabilities": [0.5, 0.5]}]  # fmt: skip
    assert json.loads(codecs.encode(labels, "application/json")) == {"predictions": [1, 0]}


def test_a_refused_nan_names_where_the_missing_values_are(tmp_path, models):
    model = models["churn-pipeline"]
    hooks = DefaultHooks(Settings(code_dir=tmp_path, model_dir=model.path.parent, handler="sklearn",
                                  model_filename=model.path.name))  # fmt: skip
    loaded = hooks.model_fn(str(model.path.parent))
    frame = model.rows.head(3).assign(income=[1.0, np.nan, 2.0])  # past the schema check: the model decides
    with pytest.raises(BadRequest, match=r"missing values at row 2, column 'income', which this model cannot take"):
        hooks.predict_fn(frame, loaded)


def test_the_project_and_the_model_must_agree_on_names_and_order():
    model = InputSchema((Column("age"), Column("tenure")), source="model")
    for recorded, problem in (
        (("tenure", "age"), "same names in another order"),
        (("age", "x"), "missing tenure; unknown x"),
    ):
        with pytest.raises(SchemaError) as raised:
            reconcile(InputSchema(tuple(Column(n) for n in recorded), source="declared"), model)
        assert str(raised.value).endswith(problem)
    guessed = InputSchema((Column("age", certain=False), Column("tenure", certain=False)))
    sample = InputSchema((Column("age"), Column("tenure", "text")), source="sample")
    assert reconcile(sample, guessed).columns[1].kind == "text"  # a guessed kind takes the sample's


def test_schema_files_round_trip_and_refuse_what_they_cannot_hold(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(CHURN.to_json())
    assert InputSchema.read(path) == CHURN
    assert InputSchema.read(tmp_path / "absent.json") == InputSchema()
    for bad in ({"columns": [{"name": "a", "kind": "date"}]}, {"colums": []}, {"columns": [{"name": "a"}] * 2}):
        path.write_text(json.dumps(bad))
        with pytest.raises(SchemaError):
            InputSchema.read(path)


def npz(matrix) -> bytes:
    import io

    import scipy.sparse

    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, scipy.sparse.csr_matrix(matrix))
    return buffer.getvalue()


def test_sparse_npz_rows_reach_models_that_take_sparse_input_as_they_are(tmp_path, wine, models):
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(random_state=0).fit(*wine)
    rows = wine[0][:20].copy()
    rows[rows < 1.0] = 0.0  # left out of the sparse matrix
    hooks = DefaultHooks(Settings(code_dir=tmp_path, model_dir=tmp_path, handler="sklearn",
                                  input_types=("application/x-npz",)))  # fmt: skip
    data = hooks.input_fn(npz(rows), "application/x-npz")
    assert data.format == "csr" and data.nnz < rows.size
    assert hooks.predict_fn(data, tree).tolist() == tree.predict(rows).tolist()
    hgb = models["hist-gradient-boosting"].model
    with pytest.raises(BadRequest, match="this model does not take sparse input"):
        hooks.predict_fn(hooks.input_fn(npz([[30.0, 0.0]]), "application/x-npz"), hgb)
    with pytest.raises(BadRequest, match=r"not a readable \.npz sparse matrix"):
        hooks.input_fn(b"PK\x03\x04 not a zip", "application/x-npz")
    with pytest.raises(BadRequest, match="send CSV or JSON, not a sparse matrix"):
        codecs.decode(npz([[1.0, 0, 2.0, 0]]), "application/x-npz", CHURN, ("application/x-npz",))


@pytest.fixture(scope="module")
def members():
    """The customer table with a bool column, as pandas holds one (dtype bool)."""
    frame, target = tabular.customers()
    return frame[["age", "income"]].assign(member=frame.age % 3 == 0), target


def sampled_schema(model, frame: pd.DataFrame) -> InputSchema:
    """The schema mcc new records from the model and a 5-row CSV sample of ``frame`` (True/False, as pandas writes)."""
    from mcc_runtime import schema_sources

    from_model = model_schema(load_handler("sklearn"), model)
    sample = schema_sources.payload_schema(tabular.csv_body(frame.head(5)), codecs.CSV, from_model.names)
    return schema_sources.project_schema(from_model, (), sample)


def test_a_bool_column_reaches_the_model_as_bools_from_every_spelling(members):
    """One-hot encoded (the encoder records False/True) and fed to LogisticRegression as a number (the sample's
    True/False tell): true/True/TRUE/1/yes and false/0/no, in CSV and JSON, all as the training frame's bools."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame, target = members
    encoded = ColumnTransformer([("member", OneHotEncoder(), ["member"])], remainder="passthrough")
    models = {
        "one-hot": make_pipeline(encoded, LogisticRegression(max_iter=2000)).fit(frame, target),
        "number": LogisticRegression(max_iter=2000).fit(frame, target),
    }
    assert kinds(model_schema(load_handler("sklearn"), models["one-hot"]))[2] == ("member", "boolean", (), True)
    rows = frame.head(30)
    text = tabular.csv_body(rows).decode()
    spelled = text.replace("True", "true", 5).replace("True", "1", 5).replace("True", "yes").replace("False", "0", 5)
    bodies = [(text.encode(), codecs.CSV), (spelled.replace("False", "no").encode(), codecs.CSV),
              (tabular.records_body(rows), codecs.JSON)]  # fmt: skip
    for name, model in models.items():
        schema = sampled_schema(model, frame)
        assert schema.columns[2].kind == "boolean" and schema.frame, name
        for body, media in bodies:
            data = codecs.decode(body, media, schema)
            assert data["member"].dtype == bool and data["member"].tolist() == rows.member.tolist(), (name, media)
            assert load_handler("sklearn").predict(model, data).tolist() == model.predict(rows).tolist()


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["True", "False", "", "TRUE", "false"], "boolean"),  # pandas.read_csv's spellings; a missing one
        ([True, False, None], "boolean"),  # JSON's
        (["1", "0", "1"], "number"),  # pandas reads integers
        (["yes", "no"], "text"),  # and these as text
        (["", ""], "number"),
        (["2024-03-01", "2024-03-02 09:30:00", None, "2024-03-03T23:59:59.5Z"], "timestamp"),  # ISO 8601
        (["2024-03-01", "tomorrow"], "text"),
        (["20240301"], "number"),
    ],
)
def test_a_samples_column_kind_is_what_pandas_would_read(values, kind):
    from mcc_runtime import schema_sources

    body = json.dumps([{"flag": value} for value in values]).encode()
    assert schema_sources.payload_schema(body, codecs.JSON).columns[0].kind == kind


def nan_tolerant_estimators():
    import lightgbm
    import xgboost
    from sklearn.ensemble import HistGradientBoostingClassifier

    return {
        "hist-gradient-boosting": HistGradientBoostingClassifier(max_iter=10, random_state=0),
        "xgboost": xgboost.XGBClassifier(n_estimators=5, max_depth=3, n_jobs=1),
        "lightgbm": lightgbm.LGBMClassifier(n_estimators=5, verbose=-1, random_state=0),
    }


@pytest.mark.parametrize("estimator", ["hist-gradient-boosting", "xgboost", "lightgbm"])
@pytest.mark.parametrize("route", ["remainder", "named passthrough"])
def test_missing_values_pass_through_a_column_transformer_to_an_estimator_that_takes_them(estimator, route):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame, target = tabular.customers()
    frame = frame[["age", "plan", "income"]].astype({"age": float})
    frame.loc[::5, "income"] = np.nan

    def columns():
        if route == "remainder":
            return ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough")
        return ColumnTransformer([("plan", OneHotEncoder(), ["plan"]), ("numbers", "passthrough", ["age", "income"])])

    model = make_pipeline(columns(), nan_tolerant_estimators()[estimator]).fit(frame, target)
    schema = model_schema(load_handler("sklearn"), model)
    assert [(c.name, c.missing) for c in schema.columns] == [("age", True), ("plan", True), ("income", True)]
    rows = frame.head(20)
    data = codecs.decode(tabular.csv_body(rows), codecs.CSV, schema)
    assert load_handler("sklearn").predict(model, data).tolist() == model.predict(rows).tolist()
    refusing = make_pipeline(columns(), LogisticRegression()).fit(frame.fillna(0), target)  # takes no NaN
    assert [c.missing for c in model_schema(load_handler("sklearn"), refusing).columns] == [False, True, False]


SIGNUPS = InputSchema((Column("signup", "timestamp"), Column("age")), frame=True)


def test_a_timestamp_column_reaches_the_model_as_pandas_datetimes():
    """ISO 8601 dates and times in CSV and JSON become the datetime64 column a training frame held (naive, or
    UTC where the values carry an offset); missing values are NaT."""
    body = b"signup,age\n2024-03-01 09:30:00,31\n2024-03-02,40\n,22\n2024-03-03T10:15:30.25,50\n"
    frame = codecs.decode(body, codecs.CSV, SIGNUPS)
    assert frame["signup"].dtype.kind == "M" and frame["signup"].dt.tz is None  # datetime64, naive
    expected = ["2024-03-01 09:30:00", "2024-03-02 00:00:00", "NaT", "2024-03-03 10:15:30.250000"]
    assert [str(v) for v in frame["signup"]] == expected
    records = json.dumps([{"signup": "2024-03-01T09:30:00Z", "age": 3}, {"signup": "2024-03-01T11:30:00+02:00",
                                                                          "age": 4}]).encode()  # fmt: skip
    aware = codecs.decode(records, codecs.JSON, SIGNUPS)["signup"]
    assert str(aware.dt.tz) == "UTC" and aware.dt.hour.tolist() == [9, 9]


NOT_A_TIMESTAMP = "is not an ISO 8601 date or time (2024-03-01T09:30:00)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"signup,age\n2024-02-30,3\n", f"row 1, column 'signup': '2024-02-30' {NOT_A_TIMESTAMP}"),
        (b"signup,age\n2024-03-01,3\nnext tuesday,4\n", f"row 2, column 'signup': 'next tuesday' {NOT_A_TIMESTAMP}"),
        (
            b"signup,age\n2024-03-01T09:00:00Z,3\n2024-03-01T09:00:00,4\n",
            "column 'signup': some timestamps carry a UTC offset and others do not; send all with one (or Z) or all "
            "without",
        ),
    ],
)
def test_a_value_that_is_not_a_timestamp_is_named(body, message):
    with pytest.raises(BadRequest) as refused:
        codecs.decode(body, codecs.CSV, SIGNUPS)
    assert refused.value.message == message


MIXED = InputSchema(
    (
        Column("age", missing=False),
        Column("plan", "category", ("basic", "pro", "NA")),
        Column("note", "text"),
        Column("member", "boolean"),
        Column("signup", "timestamp"),
    ),
    frame=True,
)
MIXED_BODIES = [
    b"age,plan,note,member,signup\n31,pro,likes it,,2024-03-01T09:30:00Z\n",
    b"plan,age,member,note,signup\nbasic,40,,,2024-03-02T10:00:00+02:00\nNA,22,no,x,\n",  # other order, gaps
    b"44,basic,3,NA,2024-03-03T00:00:00Z\n",  # no header
    json.dumps([{"age": 5, "plan": "pro", "note": "ok", "member": None, "signup": "2024-03-04T01:02:03Z"}]).encode(),
]  # each request has a text, a missing boolean (float alone too) and a timestamp with an offset (UTC alone too)


def read_each(bodies: list[bytes], schema: InputSchema) -> list:
    return [codecs.parse(b, codecs.JSON if b[:1] in (b"[", b"{") else codecs.CSV, schema) for b in bodies]


def test_a_batch_conformed_together_is_each_request_conformed_alone_and_joined():
    parts = read_each(MIXED_BODIES[:3] + MIXED_BODIES[3:] * 2, MIXED)
    joined, sizes = tabular_module.conform_together(parts, MIXED)
    assert sizes == [1, 2, 1, 1, 1]
    alone = pd.concat([tabular_module.conform(p, MIXED) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(joined, alone)  # values and dtypes: category, object, float (missing), UTC
    assert joined["member"].dtype.kind == "f" and str(joined["signup"].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("bodies", "why"),
    [
        ([b"31,pro,a,yes,2024-03-01\n", b"32,gold,b,no,2024-03-01\n"], "a value conform refuses (its own 400)"),
        ([b"31,pro,a,yes,2024-03-01\n", b",pro,b,no,2024-03-01\n"], "a missing value where none is allowed"),
        ([b"31,pro,a,,2024-03-01\n", b"32,pro,b,no,2024-03-01\n"], "booleans: float in one request, bool in the other"),
        ([b"31,pro,a,no,2024-03-01T00:00:00Z\n", b"32,pro,b,no,\n"], "timestamps: UTC in one request, naive alone"),
        ([b"31,pro,a,yes,2024-03-01T00:00:00Z\n", b"32,pro,b,no,2024-03-01\n"], "offsets and none across requests"),
        ([b"31,pro,a,yes,2024-03-01\n", b"32,pro,,no,2024-03-01\n"], "texts: a string column in one, none alone"),
    ],
)
def test_a_batch_that_would_not_conform_alike_is_left_to_each_request(bodies, why):
    assert tabular_module.conform_together(read_each(bodies, MIXED), MIXED) is None, why


def test_numeric_rows_conform_together_from_numpys_reader_and_from_cells():
    schema = InputSchema(width=3)
    bodies = [b"1,2,3\n4,5,6\n7,8,9\n10,11,12\n", b"13,14,15\n", json.dumps({"instances": [[16, 17, None]]}).encode()]
    parts = read_each(bodies, schema)
    assert parts[0].numbers is not None and parts[1].numbers is None  # the C reader's rows, and cells
    joined, sizes = tabular_module.conform_together(parts, schema)
    assert sizes == [4, 1, 1] and joined.dtype == np.float64
    np.testing.assert_array_equal(joined, np.concatenate([tabular_module.conform(p, schema) for p in parts]))
    assert tabular_module.conform_together([*parts, np.ones((1, 3))], schema) is None  # an NPY body: not a table
    assert tabular_module.conform_together(read_each([b"1,2\n"], schema), schema) is None  # too narrow: its own 400
