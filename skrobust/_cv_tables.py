"""Raw tables in the CV estimators: their ``preprocessing`` parameter and the
search over the numeric input encoding.

A table of text, categories and gaps cannot enter a network; its encoding
(:func:`~skrobust.make_tabular_preprocessor`) must be fitted on each fold's
training rows, or the test rows leak into it. So in tabular mode the CV
estimator searches a pipeline ``[("preprocessor", ...), ("mlp", base)]``:
:class:`~skrobust.model_selection.BatchedGridSearchCV` fits a pipeline's
prefix once per fold (and per value of the preprocessor's parameters) and
trains the networks on its output in batched runs, and the refit fits the
chosen pipeline on all the rows.

The grid keeps the user's names: ``numeric_encoding`` (one of
:data:`~skrobust._preprocessing.NUMERIC_ENCODINGS`) sets the preprocessor's
``numeric__encode`` step and every other key the network's parameter of that
name; ``cv_results_`` and ``best_params_`` are written back in those names.
"""

from __future__ import annotations

import sys

from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import validate_data

from skrobust._validation import InvalidParameterError

#: The grid key that searches the numeric encoding (tabular mode only).
ENCODING = "numeric_encoding"
#: Its value outside the search: the ``"simplest"`` rule counts a candidate
#: with another encoding as one change from it.
FIXED_ENCODING = "standard"

_PREPROCESSOR, _MLP = "preprocessor", "mlp"
# make_tabular_preprocessor names the numeric pipeline's last step "encode".
_ENCODE = f"{_PREPROCESSOR}__numeric__encode"


def _is_dataframe(X) -> bool:
    # Without pandas imported, X cannot be a DataFrame: numeric users do not
    # pay for importing it.
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(X, pd.DataFrame)


def is_raw_table(X) -> bool:
    """The ``"auto"`` rule: ``X`` is a DataFrame with a column that is not
    numbers (text, ``category``; ``bool`` counts as 0/1, as scikit-learn's
    ``check_array`` reads it) or with a gap; every other ``X`` is numeric
    input, used as is."""
    if not _is_dataframe(X):
        return False
    from pandas.api.types import is_numeric_dtype

    return not all(is_numeric_dtype(d) for d in X.dtypes) or bool(
        X.isna().to_numpy().any()
    )


def table_search(cv, X):
    """A :class:`TableSearch` when ``cv.preprocessing`` (``"auto"`` resolved
    for ``X``) encodes ``X``, else None (``X`` used as is)."""
    owner = type(cv).__name__
    mode = cv.preprocessing
    if not (mode is None or (isinstance(mode, str) and mode in ("auto", "tabular"))):
        raise InvalidParameterError(
            f"The 'preprocessing' parameter of {owner} must be a str among "
            f"{{'auto', 'tabular'}} or None. Got {mode!r} instead."
        )
    if mode == "auto":
        mode = "tabular" if is_raw_table(X) else None
    if mode is None:
        return None
    if not _is_dataframe(X):
        raise TypeError(
            f"{owner}(preprocessing='tabular') needs X as a pandas DataFrame "
            f"(its column types choose the encoding); got {type(X).__name__}."
        )
    return TableSearch(X)


def checked_encodings(grids, tables, owner):
    """Raise if a grid's ``numeric_encoding`` is not a list of encoding names
    that this fit can search; the grids without that key (for
    :func:`~skrobust._cv_build.check_grids`)."""
    from skrobust._preprocessing import NUMERIC_ENCODINGS

    rest = []
    for grid in grids:
        if not isinstance(grid, dict) or ENCODING not in grid:
            rest.append(grid)
            continue
        if tables is None:
            raise InvalidParameterError(
                f"param_grid names {ENCODING!r}, which {owner} searches only "
                "when it encodes a raw table (preprocessing='tabular', or "
                "'auto' with a DataFrame of text, categories or gaps); here X "
                "is used as is."
            )
        values = grid[ENCODING]
        if (
            isinstance(values, str)
            or not hasattr(values, "__len__")
            or len(values) == 0
        ):
            raise InvalidParameterError(
                f"param_grid[{ENCODING!r}] must be a non-empty list of "
                f"encoding names, got {values!r}."
            )
        unknown = [
            v for v in values if not (isinstance(v, str) and v in NUMERIC_ENCODINGS)
        ]
        if unknown:
            raise InvalidParameterError(
                f"param_grid[{ENCODING!r}] holds {unknown[0]!r}; the encodings "
                f"are {list(NUMERIC_ENCODINGS)}."
            )
        if not tables.has_numbers:
            raise InvalidParameterError(
                f"param_grid names {ENCODING!r}, but X has no numeric column to encode."
            )
        rest.append({k: v for k, v in grid.items() if k != ENCODING})
    return rest


def without_encoding(candidate) -> dict:
    """A candidate's parameters of the network alone."""
    return {k: v for k, v in candidate.items() if k != ENCODING}


def final_step(estimator):
    """The network of ``best_estimator_``: the estimator, or a pipeline's
    last step."""
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def encoded(estimator, X):
    """``(network, its input)``: ``X`` through a pipeline's preprocessor."""
    if isinstance(estimator, Pipeline):
        return estimator[-1], estimator[:-1].transform(X)
    return estimator, X


class TableSearch:
    """One tabular fit's search: the pipeline around the network, the grid in
    the pipeline's names, and ``cv_results_`` back in the user's."""

    #: The fit parameter that carries ``sample_weight`` to the network.
    weight_key = f"{_MLP}__sample_weight"
    #: The searched values outside the search (see :data:`FIXED_ENCODING`).
    fixed = {ENCODING: FIXED_ENCODING}

    def __init__(self, X):
        from skrobust import _preprocessing

        # Only X's column types and gaps are read here; nothing is fitted.
        self.preprocessor = _preprocessing.make_tabular_preprocessor(
            X, numeric_encoding=FIXED_ENCODING
        )
        self.has_numbers = bool(_preprocessing.column_roles(X)["numeric"])
        self.candidates: list = []

    @staticmethod
    def validate(cv, X, y):
        """Set ``n_features_in_`` and ``feature_names_in_`` from the raw
        table and check ``y`` as the numeric path does; ``X`` is kept."""
        X, y = validate_data(cv, X, y, skip_check_array=True)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=cv)
        check_consistent_length(X, y)
        return X, y

    def estimator(self, base):
        return Pipeline([(_PREPROCESSOR, self.preprocessor), (_MLP, base)])

    def grid(self, grids):
        """The pipeline's grid: one point per candidate of ``grids``, in
        their order, so that row ``i`` of ``cv_results_`` is the user's
        candidate ``i``."""
        from skrobust._preprocessing import numeric_encoder

        self.candidates = list(ParameterGrid(grids))
        # One transformer per name: the candidates that share it share each
        # fold's fitted preprocessor (the search keys a fold's prefix by them).
        encoders: dict = {}
        points = []
        for candidate in self.candidates:
            point = {
                f"{_MLP}__{k}": [v] for k, v in without_encoding(candidate).items()
            }
            if ENCODING in candidate:
                name = candidate[ENCODING]
                if name not in encoders:
                    encoders[name] = numeric_encoder(name)
                point[_ENCODE] = [encoders[name]]
            points.append(point)
        return points

    def results(self, cv_results):
        """``cv_results_`` with the user's candidates as ``params`` and
        their ``param_<name>`` columns, where the pipeline's were."""
        from skrobust.model_selection._results import _param_arrays

        out = {}
        for key, value in cv_results.items():
            if key == "params":
                out.update(_param_arrays(self.candidates))
                out[key] = list(self.candidates)
            elif not key.startswith("param_"):
                out[key] = value
        return out
