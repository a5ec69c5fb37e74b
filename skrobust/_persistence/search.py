"""The CV estimators in a model file: the refit ``best_estimator_`` is stored
as any estimator is, and the search around it as one more JSON object
(``"search"``): the CV estimator's class and parameters, the choice and the
numeric part of ``cv_results_``."""

from __future__ import annotations

import math

import numpy as np

from skrobust._persistence.codec import decode, encode, short

# Scalar fitted attributes of a CV estimator, with their types.
_ATTRIBUTES = {
    "best_index_": int,
    "best_score_": float,
    "n_splits_": int,
    "refit_time_": float,
}


def search_classes() -> dict:
    from skrobust._cv import NoisyMLPClassifierCV, NoisyMLPRegressorCV

    return {c.__name__: c for c in (NoisyMLPClassifierCV, NoisyMLPRegressorCV)}


def _floats(values):
    return [None if not math.isfinite(v) else v for v in map(float, values)]


def search_meta(cv) -> dict:
    """The ``"search"`` object of a fitted CV estimator's file."""
    if not isinstance(cv.best_estimator_, cv._base):
        # Fitted on a raw table: best_estimator_ is a Pipeline, and the file
        # has no pickle-free form for its ColumnTransformer.
        raise TypeError(
            f"skrobust.save cannot store this {type(cv).__name__}: it encoded a "
            f"raw table (preprocessing={cv.preprocessing!r}), so its "
            "best_estimator_ is a Pipeline whose preprocessor (a scikit-learn "
            "ColumnTransformer) the pickle-free file cannot hold. Use pickle or "
            "joblib for trusted use, or fit it on numeric X (preprocessing=None)."
        )
    results = {}
    for key, value in cv.cv_results_.items():
        if key == "params" or key.startswith("param_"):
            continue
        arr = np.asarray(value)
        if arr.dtype.kind in "iu":
            results[key] = [int(v) for v in arr]
        elif arr.dtype.kind == "f":
            results[key] = _floats(arr)
    return {
        "estimator": type(cv).__name__,
        "params": {k: encode(v, k) for k, v in cv.get_params(deep=False).items()},
        "best_params_": encode(cv.best_params_, "best_params_"),
        "attributes": {k: getattr(cv, k) for k in _ATTRIBUTES},
        "batch_info_": encode(cv.batch_info_, "batch_info_"),
        "cv_results_": results,
        "candidates": encode(list(cv.cv_results_["params"]), "cv_results_"),
        "feature_names_in_": (
            [str(n) for n in cv.feature_names_in_]
            if hasattr(cv, "feature_names_in_")
            else None
        ),
    }


def restore_search(search, best, label):
    """The CV estimator that ``search`` describes, around the loaded ``best``."""
    from skrobust._validation import validate_params

    if not isinstance(search, dict):
        raise ValueError(f"{label}: 'search' is not an object.")
    classes = search_classes()
    name = search.get("estimator")
    if name not in classes or classes[name]._base is not type(best):
        raise ValueError(
            f"{label} names search class {short(name)} around a "
            f"{type(best).__name__}; refusing to load it."
        )
    cls = classes[name]
    try:
        params = {k: decode(v, k) for k, v in dict(search["params"]).items()}
        cv = cls()
        unknown = sorted(set(params) - set(cv.get_params(deep=False)), key=str)
        if unknown:
            raise ValueError(f"unknown parameters {unknown}")
        cv.set_params(**params)
        validate_params(cv._base_estimator())
        candidates = decode(search["candidates"], "cv_results_")
        best_params = decode(search["best_params_"], "best_params_")
        results = {}
        for key, values in dict(search["cv_results_"]).items():
            kind = int if key.startswith("rank_") else float
            results[key] = np.asarray(
                [np.nan if v is None else kind(v) for v in values]
            )
        attributes = {
            k: kind(search["attributes"][k]) for k, kind in _ATTRIBUTES.items()
        }
        batch_info = decode(search["batch_info_"], "batch_info_")
        names = search.get("feature_names_in_")
        if names is not None:
            names = np.asarray([str(n) for n in names], dtype=object)
            if len(names) != best.n_features_in_:
                raise ValueError("feature_names_in_ does not match n_features_in_")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{label}: invalid search record ({exc}).") from None
    if not isinstance(candidates, list) or not all(
        isinstance(c, dict) for c in candidates
    ):
        raise ValueError(f"{label}: invalid search record (candidates).")
    if any(len(v) != len(candidates) for v in results.values()):
        raise ValueError(f"{label}: cv_results_ arrays of unequal lengths.")
    if not 0 <= attributes["best_index_"] < len(candidates) or (
        candidates[attributes["best_index_"]] != best_params
    ):
        raise ValueError(f"{label}: best_index_ does not name best_params_.")
    results["params"] = candidates
    for pname in sorted({k for c in candidates for k in c}):
        results[f"param_{pname}"] = np.ma.MaskedArray(
            [c.get(pname) for c in candidates],
            mask=[pname not in c for c in candidates],
            dtype=object,
        )
    cv.cv_results_ = results
    cv.best_params_ = best_params
    cv.batch_info_ = batch_info
    for k, v in attributes.items():
        setattr(cv, k, v)
    cv.best_estimator_ = best
    cv.n_features_in_ = best.n_features_in_
    if names is not None:
        cv.feature_names_in_ = names
    return cv
