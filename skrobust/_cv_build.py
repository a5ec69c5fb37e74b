"""How the CV estimators are built from the plain ones: their ``__init__``
(the plain estimator's signature, less what they do not take, plus the
search's parameters), their docstrings (the plain estimator's parameters from
the knob table, then the search's) and the fitted attributes they read from
``best_estimator_`` (its network, when it is a pipeline)."""

from __future__ import annotations

import inspect

from sklearn.utils.validation import check_is_fitted

from skrobust import _knobs
from skrobust._cv_tables import final_step
from skrobust._validation import InvalidParameterError

_SEARCH_DOC = """    param_grid : dict or list of dicts, default=None
        The candidates, as ``GridSearchCV``'s ``param_grid``: keys are
        parameters of the plain estimator. ``None`` searches
        ``DEFAULT_PARAM_GRID`` ({grid}) minus the parameters set to a value
        other than their default, which stay fixed.
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV``: ``None`` is 5-fold, stratified for
        classifiers.
    scoring : str, callable or None, default=None
        One metric, as in ``GridSearchCV`` (``None``: the estimator's
        ``score``, {score}).
    selection : {{"simplest", "best"}}, default="simplest"
        How the candidate is chosen. ``"best"``: the highest mean score.
        ``"simplest"``: among the candidates whose mean score is within one
        corrected standard error of the best's (:func:`simplest_within_noise`),
        the one that changes the fewest parameters from the fixed
        estimator's values, then the highest mean.
    n_jobs : int, default=None
        Worker processes sharing the batched runs (joblib; a Dask cluster
        under ``joblib.parallel_config(backend="dask")``).
    memory_budget : int, default=None
        Bytes one batched run may use, as ``BatchedGridSearchCV``'s.
    error_score : "raise" or float, default=np.nan
        Score of a candidate's fit that fails, as ``GridSearchCV``'s.
    checkpoint : str or os.PathLike, default=None
        A folder where each finished batched run and plain fit is kept, as
        ``BatchedGridSearchCV``'s: an interrupted ``fit`` run again with the
        same folder trains only what had not finished (docs/reliability).
    preprocessing : {{"auto", "tabular"}} or None, default="auto"
        How ``X`` reaches the networks. ``None``: ``X`` must be numeric and
        is used as is. ``"tabular"``: ``X`` is a pandas DataFrame of numbers,
        text, categories, booleans and gaps, encoded by
        :func:`~skrobust.make_tabular_preprocessor` fitted on each fold's
        training rows (the test rows never reach it) and refitted with the
        chosen network on all rows; ``best_estimator_`` is then the pipeline
        ``[("preprocessor", ...), ("mlp", {base})]`` and ``predict`` takes
        the raw table. ``param_grid`` may then also search the numeric
        columns' encoding, ``"numeric_encoding"`` among ``"standard"``
        (its value outside the search), ``"smooth_clip"``,
        ``"piecewise_linear"`` and ``"periodic"``: for example
        ``{{"alpha": [0.0, 10.0], "numeric_encoding": ["standard",
        "smooth_clip"]}}``. The default grid searches no encoding: each one
        multiplies the candidates, and the fit's cost. :func:`skrobust.save`
        cannot store a fit that encoded a table (use pickle or joblib).
        ``"auto"``: ``"tabular"`` when ``X`` is a DataFrame with a column of
        text or ``category`` dtype (``bool`` counts as 0/1) or with a gap,
        else ``None``; the dtypes decide, as they do for
        ``HistGradientBoostingClassifier(categorical_features="from_dtype")``.
"""

_SEARCH_ATTRIBUTES_DOC = """
    Attributes
    ----------
    best_estimator_ : {base} or Pipeline
        The chosen candidate refitted on all of ``X``; predictions come
        from it. A ``Pipeline`` of the table's preprocessor and the
        network when ``X`` was encoded (``preprocessing``).
    best_params_ : dict
        The chosen candidate's parameters (from ``param_grid``, in its
        names: ``alpha``, ``numeric_encoding``).
    best_index_ : int
        Its index in ``cv_results_``.
    best_score_ : float
        Its mean cross-validated score.
    cv_results_ : dict of ndarray
        Every candidate's scores, in ``GridSearchCV``'s layout.
    n_splits_ : int
        Number of cross-validation splits.
    refit_time_ : float
        Seconds the refit took.
    batch_info_ : dict
        How the members trained (``BatchedGridSearchCV.batch_info_``).
    n_features_in_ : int
        Number of features seen during fit (the raw table's columns).
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` was a DataFrame with string column names.
    model_, history_, loss_curve_, n_iter_, coefs_, intercepts_, \
n_outputs_, out_activation_ :
        Those of ``best_estimator_`` (of its network, for a pipeline).
"""


def docstring(owner, base_name, score, grid, not_taken):
    """The CV estimator's docstring up to its attributes, for the plain
    estimator ``base_name`` of knob owner ``owner``."""
    summary = f"""{base_name} whose regularization is chosen by
    cross-validation, in batched runs.

    Every candidate of ``param_grid`` (by default six weight-decay
    strengths) trains on every fold; candidates x folds of one network
    structure train together as vectorized runs. The chosen candidate
    (``selection``) is refitted on all of ``X``. Every other parameter is
    :class:`{base_name}`'s, fixed for all candidates.
"""
    grid = ", ".join(f"``{k}`` in {v}" for k, v in grid.items())
    return (
        summary
        + _knobs.parameters_doc(owner, exclude=not_taken)
        + _SEARCH_DOC.format(grid=grid, score=score, base=base_name)
        + _SEARCH_ATTRIBUTES_DOC.format(base=base_name)
    )


def _signature(base, not_taken, search_params):
    """``base``'s ``__init__`` signature without ``not_taken``, then the
    search's keyword-only parameters."""
    params = [
        p
        for name, p in inspect.signature(base.__init__).parameters.items()
        if name not in not_taken
    ]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in search_params.items()
    ]
    return inspect.Signature(params + extra)


def make_init(base, not_taken, search_params):
    signature = _signature(base, not_taken, search_params)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


def delegate(name):
    def get(self):
        check_is_fitted(self, "best_estimator_")
        return getattr(final_step(self.best_estimator_), name)

    get.__doc__ = f"``best_estimator_.{name}``."
    return property(get)


def check_grids(grids, names, owner, base_name):
    """Raise if a ``param_grid`` of ``owner`` (a list of dicts) names anything
    but parameters ``names`` of ``base_name``, or holds no list of values."""
    names = set(names)
    for grid in grids:
        if not isinstance(grid, dict):
            raise InvalidParameterError(
                f"The 'param_grid' parameter of {owner} "
                f"must hold dicts; got {type(grid).__name__}."
            )
        for name, values in grid.items():
            if name not in names:
                raise ValueError(
                    f"param_grid names {name!r}, which is not a parameter "
                    f"of {base_name}; its parameters are "
                    f"{sorted(names)}."
                )
            if isinstance(values, str) or not hasattr(values, "__len__"):
                raise ValueError(
                    f"param_grid[{name!r}] must be a list of values, got {values!r}."
                )
            if len(values) == 0:
                raise ValueError(f"param_grid[{name!r}] holds no value.")
