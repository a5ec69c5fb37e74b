"""Preprocessing of a mixed table for the noisy MLPs, chosen from its column
types: the encoding ``skrobust demo --data`` uses, public as
:func:`make_tabular_preprocessor` so that a script can reproduce it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from skrobust.preprocessing import (
    PeriodicEncoder,
    PiecewiseLinearEncoder,
    SmoothClipScaler,
)

#: The category a gap in a categorical column becomes: one-hot encoding then
#: gives every such column its own missing indicator.
MISSING_CATEGORY = "(missing)"


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(
        column
    )


def _is_categorical(column: pd.Series) -> bool:
    dtype = column.dtype
    return (
        pd.api.types.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def column_roles(X: pd.DataFrame) -> dict[str, list]:
    """The columns of ``X`` by what the preprocessor does with them:
    ``numeric``, ``categorical`` and ``empty`` (no value at all: dropped)."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            "make_tabular_preprocessor needs a pandas DataFrame (its column "
            f"types choose the encoding); got {type(X).__name__}."
        )
    if X.shape[1] == 0:
        raise ValueError("X has no columns.")
    roles: dict[str, list] = {"numeric": [], "categorical": [], "empty": []}
    unsupported = []
    for name in X.columns:
        column = X[name]
        if column.isna().all():
            roles["empty"].append(name)
        elif _is_numeric(column) and not pd.api.types.is_complex_dtype(column):
            roles["numeric"].append(name)
        elif _is_categorical(column):
            roles["categorical"].append(name)
        else:
            unsupported.append(f"{name!r} ({column.dtype})")
    if unsupported:
        raise ValueError(
            f"Cannot encode the columns {', '.join(unsupported)}: convert them to "
            "numbers (e.g. a date to days since some day) or to text first."
        )
    if not roles["numeric"] and not roles["categorical"]:
        raise ValueError("Every column of X is empty (all values missing).")
    return roles


def categories_as_text(X):
    """Every value as text and every gap (NaN, None, ``pd.NA``) as
    :data:`MISSING_CATEGORY`, so that one encoder takes text, booleans,
    numbers-as-categories and gaps alike."""
    frame = pd.DataFrame(X)
    out = frame.astype(object).where(frame.notna(), MISSING_CATEGORY)
    return out.map(str).astype(object)


#: What ``numeric_encoding`` names: the numeric columns' last step.
NUMERIC_ENCODINGS = ("standard", "smooth_clip", "piecewise_linear", "periodic")


def numeric_encoder(numeric_encoding="standard"):
    """A fresh transformer for ``numeric_encoding``: one of
    :data:`NUMERIC_ENCODINGS`, or a transformer (cloned)."""
    if isinstance(numeric_encoding, str):
        if numeric_encoding == "standard":
            return StandardScaler()
        if numeric_encoding == "smooth_clip":
            return SmoothClipScaler()
        if numeric_encoding == "piecewise_linear":
            return PiecewiseLinearEncoder()
        if numeric_encoding == "periodic":
            # The frequencies are in the input's units: RealMLP's order.
            return make_pipeline(SmoothClipScaler(), PeriodicEncoder(random_state=0))
    elif hasattr(numeric_encoding, "fit") and hasattr(numeric_encoding, "transform"):
        return clone(numeric_encoding)
    options = ", ".join(repr(name) for name in NUMERIC_ENCODINGS)
    raise ValueError(
        f"numeric_encoding must be one of {options} or a transformer; got "
        f"{numeric_encoding!r}."
    )


def make_tabular_preprocessor(
    X, *, max_categories=None, numeric_encoding="standard"
) -> ColumnTransformer:
    """A ``ColumnTransformer`` for a table of numbers, categories and gaps,
    chosen from the column types of ``X``.

    The encoding that ``skrobust demo --data FILE`` applies, for a pipeline
    with :class:`NoisyMLPClassifier` or :class:`NoisyMLPRegressor`:

    - **numbers** (int, float and the nullable ``Int64``/``Float64``): gaps
      imputed by the column's median, plus a 0/1 missing-indicator column for
      each column that has gaps in the training data, then ``StandardScaler``
      (the networks and their noise levels assume features of unit scale) or
      the encoding ``numeric_encoding`` names;
    - **categories** (text, ``bool``/``boolean``, ``category``): one-hot
      encoded with ``handle_unknown="ignore"`` (a category first seen at
      prediction encodes as all zeros); a gap is a category of its own,
      ``"(missing)"``, which acts as the column's missing indicator;
    - **columns without any value** are dropped.

    Numbers-as-codes (a zip code stored as an integer) count as numbers;
    convert such a column to text (``X[col].astype(str)``) to have it one-hot
    encoded. With many categories the output is a sparse matrix, which the
    estimators accept.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_samples, n_features)
        The table, or a sample of it with the same column types. Only its
        column types and gaps are read; nothing is fitted.
    max_categories : int, default=None
        Largest number of one-hot columns per categorical column; the rarer
        categories share one "infrequent" column. None keeps every category.
    numeric_encoding : str or transformer, default="standard"
        The last step of the numeric columns (the missing indicators
        included), after the imputation:

        - ``"standard"``: ``StandardScaler()``;
        - ``"smooth_clip"``: :class:`~skrobust.preprocessing.SmoothClipScaler`
          (median, quantile range, smooth clipping to (-3, 3));
        - ``"piecewise_linear"``:
          :class:`~skrobust.preprocessing.PiecewiseLinearEncoder` (8
          quantile bins per column; a 0/1 indicator stays one column);
        - ``"periodic"``: ``SmoothClipScaler`` then
          :class:`~skrobust.preprocessing.PeriodicEncoder` (16 frequencies,
          ``random_state=0``), RealMLP's order;
        - a transformer: used as given (cloned).

        The step is named ``"encode"`` in the ``"numeric"`` pipeline, so a
        search over a pipeline holding this preprocessor reaches it as
        ``columntransformer__numeric__encode`` (a list of transformers to
        try) and its parameters as ``columntransformer__numeric__encode__...``.

    Returns
    -------
    preprocessor : sklearn.compose.ColumnTransformer
        Unfitted; fit it (or the pipeline that holds it) on training data.

    Raises
    ------
    TypeError
        If ``X`` is not a DataFrame.
    ValueError
        If a column has a type with no encoding here (dates, for example),
        or every column is empty.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skrobust import NoisyMLPClassifier, make_tabular_preprocessor
    >>> X = pd.DataFrame({
    ...     "age": [22.0, np.nan, 35.0, 58.0, 41.0, np.nan],
    ...     "city": ["Paris", "Lyon", None, "Paris", "Nice", "Lyon"],
    ...     "member": [True, False, True, True, False, False],
    ... })
    >>> y = [0, 1, 0, 1, 1, 0]
    >>> pre = make_tabular_preprocessor(X)
    >>> pre.fit_transform(X).shape  # age, its missing indicator, 4 + 2 one-hot
    (6, 8)
    >>> model = make_pipeline(
    ...     make_tabular_preprocessor(X),
    ...     NoisyMLPClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0),
    ... ).fit(X, y)
    >>> model.predict(X.head(2)).shape
    (2,)

    The numeric encoding is a step that a search can swap:

    >>> from sklearn.model_selection import GridSearchCV
    >>> from skrobust.preprocessing import PiecewiseLinearEncoder, SmoothClipScaler
    >>> search = GridSearchCV(model, {"columntransformer__numeric__encode": [
    ...     StandardScaler(), SmoothClipScaler(), PiecewiseLinearEncoder(n_bins=4)]})
    """
    roles = column_roles(X)
    encoder = numeric_encoder(numeric_encoding)
    transformers = []
    if roles["numeric"]:
        transformers.append(
            (
                "numeric",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(strategy="median", add_indicator=True),
                        ),
                        ("encode", encoder),
                    ]
                ),
                roles["numeric"],
            )
        )
    if roles["categorical"]:
        transformers.append(
            (
                "categorical",
                make_pipeline(
                    FunctionTransformer(
                        categories_as_text, feature_names_out="one-to-one"
                    ),
                    OneHotEncoder(
                        handle_unknown="ignore", max_categories=max_categories
                    ),
                ),
                roles["categorical"],
            )
        )
    return ColumnTransformer(transformers, remainder="drop")


def _step_text(step) -> str:
    """A step's class names for a report: ```StandardScaler```, or
    ```SmoothClipScaler` then `PeriodicEncoder``` for a pipeline."""
    if isinstance(step, Pipeline):
        return " then ".join(_step_text(s) for _, s in step.steps)
    return f"`{type(step).__name__}`"


def describe(X, preprocessor: ColumnTransformer) -> tuple[str, str]:
    """What :func:`make_tabular_preprocessor` chose for ``X``: a one-line
    summary and a Markdown list for a report (the preprocessor is fitted on
    a copy to count the columns the network sees)."""
    roles = column_roles(X)
    fitted = clone(preprocessor).fit(X)
    out = fitted.transform(X.head(1))
    n_inputs = out.shape[1]
    gaps = X.isna().sum()

    def names(cols, detail=None):
        return ", ".join(f"`{c}`" + (detail(c) if detail else "") for c in cols)

    def gap_text(c):
        return f" ({count(gaps[c], 'gap')})" if gaps[c] else ""

    def cat_text(c):
        extra = f", {count(gaps[c], 'gap')}" if gaps[c] else ""
        return f" ({count(X[c].nunique(dropna=True), 'value')}{extra})"

    def count(n, word):
        return f"{n} {word}{'' if n == 1 else 's'}"

    lines, parts = [], []
    if roles["numeric"]:
        with_gaps = [c for c in roles["numeric"] if gaps[c]]
        lines.append(
            f"- **numbers**, {count(len(roles['numeric']), 'column')}: "
            f"{names(roles['numeric'], gap_text)}: median imputation"
            + (
                ", plus a missing-indicator column for each column with gaps"
                if with_gaps
                else " (no gaps in this file; gaps at prediction are imputed)"
            )
            + f", then {_step_text(fitted.named_transformers_['numeric'][-1])}."
        )
        parts.append(f"{len(roles['numeric'])} numeric ({len(with_gaps)} with gaps)")
    if roles["categorical"]:
        n_onehot = sum(
            len(c) for c in fitted.named_transformers_["categorical"][-1].categories_
        )
        lines.append(
            f"- **categories**, {count(len(roles['categorical']), 'column')}: "
            f"{names(roles['categorical'], cat_text)}: one-hot encoding into "
            f'{n_onehot} columns (`OneHotEncoder(handle_unknown="ignore")`: a '
            f"category unseen in training encodes as all zeros); a gap is the "
            f"category `{MISSING_CATEGORY}`."
        )
        parts.append(f"{len(roles['categorical'])} categorical (one-hot)")
    if roles["empty"]:
        lines.append(f"- **dropped**, no values at all: {names(roles['empty'])}.")
        parts.append(f"{len(roles['empty'])} empty dropped")
    kind = "a sparse matrix" if hasattr(out, "toarray") else "a dense array"
    section = (
        "### Preprocessing\n\n"
        "`skrobust.make_tabular_preprocessor(X)` chose a `ColumnTransformer` "
        "from the column types, fitted inside each model's pipeline on its "
        "training rows only:\n\n"
        + "\n".join(lines)
        + f"\n\nThe network sees {n_inputs} input columns ({kind}). The "
        "robustness curves add their noise to these encoded inputs, since noise "
        "on a category has no meaning.\n"
    )
    summary = f"{', '.join(parts)} -> {n_inputs} network inputs"
    return summary, section


def dense_inputs(preprocessor, X) -> np.ndarray:
    """``preprocessor.transform(X)`` as a dense float array."""
    out = preprocessor.transform(X)
    return out.toarray() if hasattr(out, "toarray") else np.asarray(out, dtype=float)
