"""What a fitted scikit-learn model records about its input columns.

``feature_names_in_`` gives names and order (a model fitted on a DataFrame). The fitted steps tell the rest:
an encoder's ``categories_`` says a column is text (closed when ``handle_unknown="error"``) or boolean, a text
vectorizer's vocabulary says free text, and walking the steps a column goes through says whether a missing
value reaches an estimator that refuses it (an imputer on the way takes care of it).
"""

from __future__ import annotations

from typing import Any

from ..schema import Column, InputSchema

OPEN_UNKNOWN = ("ignore", "infrequent_if_exist", "use_encoded_value", "warn")


def input_schema(model: Any) -> InputSchema | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        width = getattr(model, "n_features_in_", None)
        return InputSchema(width=int(width)) if width else None
    names = [str(name) for name in names]
    transformer, after = _column_transformer(model)
    if transformer is None:
        chain = _steps(model)
        columns = tuple(Column(name, missing=_missing_ok(chain), certain=_numeric(chain)) for name in names)
        return InputSchema(columns, frame=False, source="model")
    routes = _routes(transformer, names)
    columns = tuple(_column(name, *routes.get(name, ("drop", 0)), after) for name in names)
    return InputSchema(columns, frame=True, source="model")


def _column(name: str, step: Any, position: int, after: list[Any]) -> Column:
    chain = [*_steps(step), *after]
    missing = _missing_ok(chain)
    for part in _steps(step):
        categories = getattr(part, "categories_", None)
        if categories is not None and position < len(categories):
            known = tuple(_plain(v) for v in categories[position] if v == v)  # NaN seen in fit is not a category
            if known and all(isinstance(v, bool) for v in known):  # fitted on a bool column
                return Column(name, "boolean", (), missing)
            if all(isinstance(v, str) for v in known):
                unknown = getattr(part, "handle_unknown", "error")
                return Column(name, "text" if unknown in OPEN_UNKNOWN else "category", known, missing)
            return Column(name, "number", (), missing)
        if getattr(part, "vocabulary_", None) is not None:
            return Column(name, "text", (), missing)
    return Column(name, "number", (), missing, certain=_numeric(chain))


def _numeric(chain: list[Any]) -> bool:
    """scikit-learn's own steps (other than an arbitrary function) take numbers; custom code may take anything."""
    return all(
        _is_passthrough(step)
        or step == "drop"
        or (type(step).__module__.startswith("sklearn.") and type(step).__name__ != "FunctionTransformer")
        for step in chain
    )


def _column_transformer(model: Any) -> tuple[Any, list[Any]]:
    """The ColumnTransformer the model starts with, and the steps after it."""
    steps = _steps(model)
    for index, step in enumerate(steps):
        if hasattr(step, "transformers_"):
            return step, steps[index + 1 :]
        if not _is_passthrough(step):
            break
    return None, []


def _routes(transformer: Any, names: list[str]) -> dict[str, tuple[Any, int]]:
    """Column name -> (the transformer it goes to, its position among that transformer's inputs)."""
    indices = getattr(transformer, "_transformer_to_input_indices", {})
    routes: dict[str, tuple[Any, int]] = {}
    for label, step, _ in transformer.transformers_:
        for position, index in enumerate(indices.get(label, ())):
            routes[names[index]] = (step, position)
    return routes


def _steps(model: Any) -> list[Any]:
    """A pipeline's steps, flattened; any other estimator (or 'drop'/'passthrough') as a one-step list."""
    if hasattr(model, "steps"):
        return [part for _, step in model.steps for part in _steps(step)]
    return [model]


def _missing_ok(chain: list[Any]) -> bool:
    """Whether a missing value survives this chain of steps: an imputer fills it; a step that refuses NaN stops it."""
    for step in chain:
        if step == "drop":
            return True
        if _is_passthrough(step):
            continue
        if type(step).__module__.startswith("sklearn.impute") or hasattr(step, "categories_"):
            return True  # an imputer fills it in; an encoder turns it into a category (or refuses it itself)
        try:
            if not _allows_nan(step):
                return False
        except Exception:  # a custom estimator without scikit-learn tags: the model decides at predict
            return True
    return True


def _allows_nan(step: Any) -> bool:
    """The estimator's allow_nan tag: ``get_tags`` from scikit-learn 1.6, the ``_get_tags`` dict before it."""
    try:
        from sklearn.utils import get_tags
    except ImportError:  # scikit-learn < 1.6
        return bool(step._get_tags().get("allow_nan", False))
    return get_tags(step).input_tags.allow_nan


def _is_passthrough(step: Any) -> bool:
    """'passthrough', or the identity FunctionTransformer a fitted ColumnTransformer puts in its place."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return True
    return type(step).__name__ == "FunctionTransformer" and getattr(step, "func", True) is None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
