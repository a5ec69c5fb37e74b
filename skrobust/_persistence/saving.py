"""Writing a fitted estimator to a skrobust model file (:func:`save`)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from skrobust._atomic import write_atomic
from skrobust._persistence.codec import encode
from skrobust._persistence.layout import (
    ARRAY_ATTRIBUTES,
    ARRAY_DIR,
    ARRAY_KINDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    META,
    MODEL,
    SCALAR_ATTRIBUTES,
    estimator_classes,
)


def save(estimator, path) -> None:
    """Save a fitted skrobust estimator to one file, without pickle.

    Parameters
    ----------
    estimator : NoisyMLPClassifier, NoisyMLPRegressor or their CV estimators
        A fitted estimator.
    path : str, os.PathLike or binary file object
        Destination; the conventional suffix is ``.skrobust``. A path is
        written atomically: to a temporary file beside it, flushed to disk
        and renamed over ``path`` at the end, so that a save killed at any
        moment (or a power loss) leaves the old file or the new one, never a
        damaged one. A killed save may leave a hidden ``.<name>.*.partial``
        file beside ``path``.

    See Also
    --------
    load : Read the file back, refusing anything that could run code.
    """
    from sklearn.utils.validation import check_is_fitted

    from skrobust._persistence.search import search_classes, search_meta

    search = None
    if search_classes().get(type(estimator).__name__) is type(estimator):
        # A CV estimator: its best_estimator_ is stored as any estimator is,
        # the search around it as the "search" object.
        check_is_fitted(estimator)
        search = search_meta(estimator)
        estimator = estimator.best_estimator_
    name = type(estimator).__name__
    if estimator_classes().get(name) is not type(estimator):
        raise TypeError(
            f"skrobust.save stores NoisyMLPClassifier and NoisyMLPRegressor "
            f"estimators; got {name}. Use pickle or joblib for other objects."
        )
    check_is_fitted(estimator)
    import keras

    import skrobust

    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "skrobust_version": skrobust.__version__,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "estimator": name,
        "params": {
            k: encode(v, k) for k, v in estimator.get_params(deep=False).items()
        },
        "spec": {
            k: encode(v, f"spec.{k}")
            for k, v in dataclasses.asdict(estimator._spec).items()
        },
        "attributes": {},
        "arrays": {},
    }
    if search is not None:
        meta["search"] = search
    for attr in SCALAR_ATTRIBUTES:
        if estimator.__dict__.get(attr) is not None:
            meta["attributes"][attr] = encode(
                _plain_attr(getattr(estimator, attr)), attr
            )
    arrays = {}
    for attr in ARRAY_ATTRIBUTES:
        if attr in estimator.__dict__:
            arrays[attr], meta["arrays"][attr] = _array_for_file(
                getattr(estimator, attr), attr
            )

    with tempfile.TemporaryDirectory(prefix="skrobust-") as tmp:
        model_path = os.path.join(tmp, MODEL)
        estimator.model_.save(model_path)
        if isinstance(path, str | os.PathLike):
            # Flushed to disk, then renamed over the old file: a save killed
            # at any moment leaves the old model or the new one.
            write_atomic(path, lambda f: _write_zip(f, meta, model_path, arrays))
        else:
            _write_zip(path, meta, model_path, arrays)


def _plain_attr(value):
    """Fitted attributes as plain Python (NumPy scalars to int/float)."""
    if isinstance(value, dict):
        return {str(k): _plain_attr(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_attr(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _array_for_file(value, attr):
    arr = np.asarray(value)
    if arr.dtype.kind in ARRAY_KINDS:
        return arr, {"object": False}
    if arr.dtype == object:
        # Class labels and feature names from pandas are object arrays of
        # Python str (or int/float/bool): store their fixed-width NumPy form
        # and remember to turn it back into objects.
        kinds = {type(v) for v in arr.ravel().tolist()}
        if len(kinds) == 1 and kinds <= {str, int, float, bool}:
            fixed = np.asarray(arr.tolist())
            if fixed.dtype.kind in ARRAY_KINDS:
                return fixed, {"object": True}
    raise TypeError(
        f"{attr} of dtype {arr.dtype} cannot be saved without pickle; use "
        f"pickle or joblib for trusted use."
    )


def _write_zip(target, meta, model_path, arrays):
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(META, json.dumps(meta, indent=1))
        zf.write(model_path, MODEL)
        for attr, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            zf.writestr(f"{ARRAY_DIR}{attr}.npy", buf.getvalue())
