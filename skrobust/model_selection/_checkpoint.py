"""A folder of finished parts of a search, so that a re-run skips them.

A *part* is one task of :mod:`._dispatch`: a batched run or a plain fit.
Its result is stored under a key, the SHA-256 of everything that determines
it (:func:`part_key`): for a batched run its stacked training arrays
(the folds' rows, after any pipeline prefix), initial weights,
hyperparameters, seeds, network structure and training configuration; for
a plain fit the estimator's parameters, the data, the split's indices, the
fit parameters and the scorer; for both the versions of skrobust, JAX,
NumPy, scikit-learn and Keras and JAX's platform. A part whose inputs
changed in any way has another key, so a stale result is never reused; a
part whose inputs cannot be fingerprinted (a lambda scorer, an object
without a stable description) has no key and is simply trained again.

Each result is one ``<key>.part`` file (NumPy's ``.npz`` layout, read
with ``allow_pickle=False``: a tree of plain values described in JSON and
its arrays), written atomically (:mod:`skrobust._atomic`), so a search
killed at any moment leaves whole parts only. Nothing in the folder is
unpickled or run, and a file that cannot be read, or holds another key, is
ignored and trained again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import io
import json
import os
import types

import numpy as np

from skrobust._atomic import write_atomic

# Changes whenever the layout of a part file or of a part's result does.
FORMAT = 1
_SUFFIX = ".part"
_TREE = "__tree__"


class Unfingerprintable(TypeError):
    """An input of a part has no stable description."""


# -- keys --------------------------------------------------------------------
@functools.cache
def _versions():
    import jax

    names = ("skrobust", "jax", "jaxlib", "numpy", "scikit-learn", "keras")
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    import skrobust

    # The version the code says, also when the installed metadata is older.
    out["skrobust"] = skrobust.__version__
    out["platform"] = jax.default_backend()
    return tuple(sorted(out.items()))


def part_key(*inputs):
    """The hex SHA-256 of ``inputs`` (with the library versions and the
    checkpoint format), or None when an input cannot be fingerprinted."""
    h = hashlib.sha256()
    try:
        _feed(h, (FORMAT, _versions(), inputs), set(), 0)
    except Exception:
        # Unfingerprintable, or an object whose own hashing fails (a
        # DataFrame of lists): the part is trained, not kept.
        return None
    return h.hexdigest()


def _feed(h, obj, seen, depth):
    if depth > 60:
        raise Unfingerprintable("nested too deeply")

    def tag(name):
        h.update(b"\x00" + name.encode() + b"\x01")

    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        tag(type(obj).__name__)
        h.update(repr(obj).encode())
        return
    if isinstance(obj, np.generic):
        tag("scalar")
        h.update(obj.dtype.str.encode())
        h.update(np.asarray(obj).tobytes())
        return
    if isinstance(obj, np.ndarray) or _is_jax_array(obj):
        arr = np.asarray(obj)
        tag("array")
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        if arr.dtype.hasobject:
            for v in arr.ravel().tolist():
                _feed(h, v, seen, depth + 1)
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
        return
    if id(obj) in seen:
        raise Unfingerprintable("a reference cycle")
    seen = seen | {id(obj)}
    if isinstance(obj, list | tuple):
        tag(type(obj).__name__)
        h.update(str(len(obj)).encode())
        for v in obj:
            _feed(h, v, seen, depth + 1)
        return
    if isinstance(obj, dict):
        tag("dict")
        h.update(str(len(obj)).encode())
        for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0])):
            _feed(h, k, seen, depth + 1)
            _feed(h, v, seen, depth + 1)
        return
    if isinstance(obj, set | frozenset):
        tag("set")
        _feed(h, sorted(obj, key=repr), seen, depth + 1)
        return
    _feed_object(h, obj, seen, depth, tag)


def _feed_object(h, obj, seen, depth, tag):
    from scipy import sparse
    from sklearn.base import BaseEstimator

    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        tag(name)
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        _feed(h, fields, seen, depth + 1)
    elif isinstance(obj, BaseEstimator):
        tag(name)
        _feed(h, obj.get_params(deep=False), seen, depth + 1)
    elif sparse.issparse(obj):
        csr = sparse.csr_matrix(obj)
        tag("sparse")
        _feed(h, (csr.shape, csr.data, csr.indices, csr.indptr), seen, depth + 1)
    elif hasattr(obj, "iloc"):
        # A DataFrame or Series: names, dtypes and pandas's hash of each row.
        import pandas as pd

        tag(name)
        columns = list(obj.columns) if hasattr(obj, "columns") else [obj.name]
        dtypes = obj.dtypes if hasattr(obj, "columns") else [obj.dtype]
        _feed(h, [columns, [str(d) for d in dtypes]], seen, depth + 1)
        h.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
    elif isinstance(obj, np.random.RandomState):
        tag("RandomState")
        _feed(h, obj.get_state(), seen, depth + 1)
    elif isinstance(obj, np.random.Generator):
        tag("Generator")
        _feed(h, obj.bit_generator.state, seen, depth + 1)
    elif isinstance(obj, functools.partial):
        tag("partial")
        _feed(h, (obj.func, obj.args, obj.keywords), seen, depth + 1)
    elif isinstance(obj, types.FunctionType):
        # A function is known by where it is defined and its code; lambdas
        # and local functions have no name that tells two of them apart.
        if "<" in obj.__qualname__:
            raise Unfingerprintable(f"function {obj.__qualname__}")
        tag(f"function {obj.__module__}.{obj.__qualname__}")
        h.update(obj.__code__.co_code)
        _feed(h, _constants(obj.__code__), seen, depth + 1)
    elif isinstance(obj, type | types.BuiltinFunctionType | np.ufunc):
        qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
        tag(f"named {getattr(obj, '__module__', '')}.{qualname}")
    elif isinstance(obj, types.MethodType):
        tag("method")
        _feed(h, (obj.__func__, obj.__self__), seen, depth + 1)
    elif hasattr(obj, "__dict__") and not isinstance(obj, types.ModuleType):
        # Scorers and other plain objects: their class and their state.
        tag(name)
        _feed(h, vars(obj), seen, depth + 1)
    else:
        raise Unfingerprintable(name)


def _constants(code):
    out = []
    for c in code.co_consts:
        out.append(_constants(c) if isinstance(c, types.CodeType) else repr(c))
    return out


def _is_jax_array(obj):
    return type(obj).__module__.startswith("jax") and hasattr(obj, "__array__")


# -- results as files ----------------------------------------------------------
def encode(value, arrays):
    """``value`` as a JSON tree; its arrays go into ``arrays`` (name ->
    ndarray). Raises TypeError for anything else than plain values, lists,
    tuples, dicts with string keys, NumPy arrays and scalars and the engine's
    ``TrainResult``."""
    from skrobust.engine._loop import TrainResult

    if value is None or isinstance(value, bool | str):
        return {"value": value}
    if isinstance(value, np.generic):
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {"scalar": name}
    if isinstance(value, int | float):
        return {"value": value}
    if isinstance(value, np.ndarray) or _is_jax_array(value):
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise TypeError("object arrays are not stored")
        name = f"a{len(arrays)}"
        arrays[name] = arr
        return {"array": name}
    if isinstance(value, list | tuple):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("dicts with keys other than strings are not stored")
        return {"dict": {k: encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, TrainResult):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"train_result": encode(fields, arrays)}
    raise TypeError(f"{type(value).__name__} is not stored")


def decode(tree, arrays):
    """The value :func:`encode` described; ValueError for any other tree."""
    from skrobust.engine._loop import TrainResult

    if not isinstance(tree, dict) or len(tree) != 1:
        raise ValueError("not a part tree")
    ((kind, body),) = tree.items()
    if kind == "value":
        if body is not None and not isinstance(body, bool | int | float | str):
            raise ValueError("not a plain value")
        return body
    if kind in ("array", "scalar"):
        arr = arrays[body]
        return arr[()] if kind == "scalar" else arr
    if kind in ("list", "tuple"):
        items = [decode(v, arrays) for v in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {str(k): decode(v, arrays) for k, v in body.items()}
    if kind == "train_result":
        fields = decode(body, arrays)
        names = {f.name for f in dataclasses.fields(TrainResult)}
        if not isinstance(fields, dict) or set(fields) != names:
            raise ValueError("not a training result")
        return TrainResult(**fields)
    raise ValueError(f"unknown tag {kind!r}")


class Checkpoint:
    """The finished parts kept in ``folder`` (created when missing).

    Parameters
    ----------
    folder : str or os.PathLike
        Where the ``<key>.part`` files go; several searches may share it,
        also at the same time.
    """

    def __init__(self, folder):
        if not isinstance(folder, str | os.PathLike):
            raise ValueError(
                "checkpoint must be a folder (a str or os.PathLike) or None; "
                f"got {folder!r}."
            )
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)

    def _path(self, key):
        return os.path.join(self.folder, key + _SUFFIX)

    def load(self, key):
        """``(True, result)`` of part ``key``, or ``(False, None)`` when the
        folder has no readable result for it."""
        try:
            with np.load(self._path(key), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            head = json.loads(arrays.pop(_TREE).tobytes().decode())
            if head.get("format") != FORMAT or head.get("key") != key:
                return False, None
            return True, decode(head["result"], arrays)
        except Exception:
            # Missing, damaged (a zip, zlib or NumPy error), from another
            # format, or a tree decode refuses: trained again.
            return False, None

    def store(self, key, result) -> bool:
        """Write part ``key``'s result atomically; False (nothing written)
        when the result holds something :func:`encode` does not store."""
        arrays: dict = {}
        try:
            tree = encode(result, arrays)
        except TypeError:
            return False
        head = {"format": FORMAT, "key": key, "result": tree}
        blob = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **{_TREE: blob}, **arrays)
        write_atomic(self._path(key), lambda f: f.write(buf.getvalue()))
        return True

    def memory_budget(self, measure):
        """The memory budget the first search with this folder measured
        (``measure()``, stored at the first call): a resumed search plans
        the same runs, so its parts have the keys of the first one's."""
        path = os.path.join(self.folder, "memory_budget.json")
        try:
            with open(path) as f:
                value = json.load(f)
            if isinstance(value, int) and value > 0:
                return value
        except (OSError, ValueError):
            pass
        value = int(measure())
        write_atomic(path, lambda f: f.write(json.dumps(value).encode()))
        return value
