"""Saving and loading fitted estimators without pickle.

:func:`save` writes one zip file holding

* ``skrobust.json``: the format version, the estimator's class name, its
  constructor parameters and its fitted attributes as tagged JSON;
* ``model.keras``: the trained network in Keras's native format, loadable on
  its own with ``keras.saving.load_model`` (it holds skrobust's registered
  ``GaussianNoise`` layer);
* ``arrays/<name>.npy``: array attributes (``classes_``,
  ``feature_names_in_``) in NumPy's format, read with ``allow_pickle=False``.

:func:`load` never unpickles and never deserializes Keras objects from the
file. It accepts only the whitelisted estimator classes, decodes parameters
through a closed set of JSON tags, rebuilds the network from the validated
:class:`~skrobust._network.NetworkSpec`, checks that the file's Keras
architecture is exactly that network (a ``Lambda`` or any other layer a
skrobust network does not have is refused) and reads only the weight arrays
from ``model.keras``. Loading an untrusted file therefore cannot run code; any
file it cannot vouch for raises :class:`ValueError`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import struct
import tempfile
import zipfile
import zlib

import numpy as np

FORMAT_NAME = "skrobust-estimator"
FORMAT_VERSION = 1

_META = "skrobust.json"
_MODEL = "model.keras"
_ARRAY_DIR = "arrays/"
# Cap on the JSON member: real files hold a few kB (history of a long fit
# included); anything far larger is not a skrobust file.
_MAX_META_BYTES = 64 * 2**20

# Attributes restored from JSON, with the check each value must pass.
_SCALAR_ATTRIBUTES = {
    "n_features_in_": "int",
    "n_iter_": "int",
    "best_epoch_": "int",
    "best_loss_": "float",
    "_y_ndim": "int",
    "loss_curve_": "floats",
    "history_": "history",
}
_ARRAY_ATTRIBUTES = ("classes_", "feature_names_in_")
# Array dtypes a file may hold: booleans, numbers and fixed-width strings.
_ARRAY_KINDS = "biufU"
_RANDOM_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


# What zipfile, zlib and struct raise on damaged bytes (bad CRC, truncated
# members, garbled headers naming unknown compression methods ...).
_CORRUPTION_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    KeyError,
    NotImplementedError,
    RuntimeError,
)


def _estimator_classes() -> dict:
    from skrobust._mlp import NoisyMLPClassifier, NoisyMLPRegressor

    return {cls.__name__: cls for cls in (NoisyMLPClassifier, NoisyMLPRegressor)}


# -- tagged JSON ---------------------------------------------------------------
# JSON has no tuples, non-string dict keys or NumPy scalars; parameters need
# all three. Each is written as a one-key object {"__tag__": ...}; load knows
# a fixed set of tags and refuses any other.


def _encode(value, where: str):
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and type(value) in (int, float):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{where}: cannot save a NumPy {value.dtype} scalar.")
        return {"__numpy__": [value.dtype.str, value.item()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, where), _encode(v, where)] for k, v in value.items()
            ]
        }
    if isinstance(value, np.random.RandomState):
        name, key, pos, has_gauss, gauss = value.get_state(legacy=True)
        return {
            "__random_state__": [
                name,
                key.tolist(),
                int(pos),
                int(has_gauss),
                float(gauss),
            ]
        }
    if isinstance(value, np.random.Generator):
        state = value.bit_generator.state
        return {"__generator__": _encode(_plain(state), where)}
    raise TypeError(
        f"{where}: skrobust.save cannot store a value of type "
        f"{type(value).__name__} safely; use pickle or joblib for trusted use."
    )


def _plain(state):
    """A bit generator's state with arrays as lists (JSON has no arrays)."""
    if isinstance(state, dict):
        return {k: _plain(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"__array__": [state.dtype.str, state.tolist()]}
    return state


def _decode(value, where: str):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_decode(v, where) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"{where}: unexpected JSON value {_short(value)}.")
    ((tag, body),) = value.items()
    if tag == "__tuple__" and isinstance(body, list):
        return tuple(_decode(v, where) for v in body)
    if tag == "__dict__" and isinstance(body, list):
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2):
                raise ValueError(f"{where}: malformed dict entry {_short(item)}.")
            key = _decode(item[0], where)
            if isinstance(key, list | dict):
                raise ValueError(f"{where}: unhashable dict key {_short(key)}.")
            out[key] = _decode(item[1], where)
        return out
    if tag == "__numpy__" and _is_pair(body):
        dtype = _safe_dtype(body[0], where, kinds="biuf")
        return dtype.type(body[1])
    if tag == "__random_state__" and isinstance(body, list) and len(body) == 5:
        name, key, pos, has_gauss, gauss = body
        if name != "MT19937":
            raise ValueError(f"{where}: unknown RandomState generator {name!r}.")
        rs = np.random.RandomState()
        rs.set_state(
            (
                name,
                np.asarray(key, dtype=np.uint32),
                int(pos),
                int(has_gauss),
                float(gauss),
            )
        )
        return rs
    if tag == "__generator__":
        state = _unplain(_decode(body, where), where)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _RANDOM_BIT_GENERATORS:
            raise ValueError(f"{where}: unknown bit generator {name!r}.")
        bit_generator = getattr(np.random, name)()
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    raise ValueError(f"{where}: unknown JSON tag {tag!r}.")


def _unplain(state, where):
    if isinstance(state, dict):
        if set(state) == {"__array__"} and _is_pair(state["__array__"]):
            dtype = _safe_dtype(state["__array__"][0], where, kinds="biuf")
            return np.asarray(state["__array__"][1], dtype=dtype)
        return {k: _unplain(v, where) for k, v in state.items()}
    return state


def _is_pair(body) -> bool:
    return isinstance(body, list) and len(body) == 2 and isinstance(body[0], str)


def _safe_dtype(text, where, kinds):
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"{where}: invalid dtype {text!r}.") from None
    if dtype.kind not in kinds or dtype.hasobject:
        raise ValueError(f"{where}: dtype {text!r} is not allowed.")
    return dtype


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- save ----------------------------------------------------------------------


def save(estimator, path) -> None:
    """Save a fitted skrobust estimator to one file, without pickle.

    Parameters
    ----------
    estimator : NoisyMLPClassifier or NoisyMLPRegressor
        A fitted estimator.
    path : str, os.PathLike or binary file object
        Destination; the conventional suffix is ``.skrobust``. A path is
        written atomically (to a temporary file that replaces it at the end).

    See Also
    --------
    load : Read the file back, refusing anything that could run code.
    """
    from sklearn.utils.validation import check_is_fitted

    name = type(estimator).__name__
    if _estimator_classes().get(name) is not type(estimator):
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
            k: _encode(v, k) for k, v in estimator.get_params(deep=False).items()
        },
        "spec": {
            k: _encode(v, f"spec.{k}")
            for k, v in dataclasses.asdict(estimator._spec).items()
        },
        "attributes": {},
        "arrays": {},
    }
    for attr in _SCALAR_ATTRIBUTES:
        if attr in estimator.__dict__:
            meta["attributes"][attr] = _encode(
                _plain_attr(getattr(estimator, attr)), attr
            )
    arrays = {}
    for attr in _ARRAY_ATTRIBUTES:
        if attr in estimator.__dict__:
            arrays[attr], meta["arrays"][attr] = _array_for_file(
                getattr(estimator, attr), attr
            )

    with tempfile.TemporaryDirectory(prefix="skrobust-") as tmp:
        model_path = os.path.join(tmp, _MODEL)
        estimator.model_.save(model_path)
        if isinstance(path, str | os.PathLike):
            path = os.fspath(path)
            partial = os.path.join(
                os.path.dirname(os.path.abspath(path)),
                f".{os.path.basename(path)}.partial",
            )
            try:
                _write_zip(partial, meta, model_path, arrays)
                os.replace(partial, path)
            finally:
                if os.path.exists(partial):
                    os.remove(partial)
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
    if arr.dtype.kind in _ARRAY_KINDS:
        return arr, {"object": False}
    if arr.dtype == object:
        # Class labels and feature names from pandas are object arrays of
        # Python str (or int/float/bool): store their fixed-width NumPy form
        # and remember to turn it back into objects.
        kinds = {type(v) for v in arr.ravel().tolist()}
        if len(kinds) == 1 and kinds <= {str, int, float, bool}:
            fixed = np.asarray(arr.tolist())
            if fixed.dtype.kind in _ARRAY_KINDS:
                return fixed, {"object": True}
    raise TypeError(
        f"{attr} of dtype {arr.dtype} cannot be saved without pickle; use "
        f"pickle or joblib for trusted use."
    )


def _write_zip(target, meta, model_path, arrays):
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META, json.dumps(meta, indent=1))
        zf.write(model_path, _MODEL)
        for attr, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            zf.writestr(f"{_ARRAY_DIR}{attr}.npy", buf.getvalue())


# -- load ----------------------------------------------------------------------


def load(path):
    """Load an estimator written by :func:`save`, safely.

    Only skrobust's estimator classes are created, no pickle is read and no
    Keras object is deserialized from the file: the network is rebuilt from
    its validated description and only weight arrays are read. Any file that
    is truncated, corrupted, from a newer skrobust, or holds anything a saved
    skrobust estimator does not (another class, an object array, a Keras
    ``Lambda`` layer ...) raises :class:`ValueError` before any of it is used.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A file written by :func:`save`.

    Returns
    -------
    estimator : NoisyMLPClassifier or NoisyMLPRegressor
        The fitted estimator; its predictions equal the saved one's.
    """
    label = os.fspath(path) if isinstance(path, str | os.PathLike) else "the file"
    try:
        zf = zipfile.ZipFile(path, "r")
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _CORRUPTION_ERRORS as exc:
        raise ValueError(
            f"{label} is not a skrobust model file, or it is truncated or "
            f"corrupted ({exc})."
        ) from None
    with zf:
        try:
            return _load_from_zip(zf, label)
        except _CORRUPTION_ERRORS as exc:
            # CRC errors, truncated members, ...
            raise ValueError(
                f"{label} is truncated or corrupted ({type(exc).__name__}: {exc})."
            ) from None


def _load_from_zip(zf, label):
    names = set(zf.namelist())
    if _META not in names:
        raise ValueError(f"{label} is not a skrobust model file (no {_META}).")
    if zf.getinfo(_META).file_size > _MAX_META_BYTES:
        raise ValueError(f"{label}: {_META} is too large to be a skrobust file.")
    try:
        meta = json.loads(zf.read(_META).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{label}: {_META} is corrupted ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{label} is not a skrobust model file.")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{label}: invalid format version {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{label} was written in skrobust file format version {version} by "
            f"skrobust {meta.get('skrobust_version', '?')}; this skrobust reads "
            f"format versions up to {FORMAT_VERSION}. Upgrade skrobust to load it."
        )
    expected = {_META, _MODEL} | {
        f"{_ARRAY_DIR}{a}.npy" for a in _dict(meta, "arrays", label)
    }
    if names != expected:
        extra, missing = sorted(names - expected), sorted(expected - names)
        raise ValueError(
            f"{label} does not have the members of a skrobust file "
            f"(unexpected: {extra}, missing: {missing}); refusing to load it."
        )

    classes = _estimator_classes()
    name = meta.get("estimator")
    if not isinstance(name, str) or name not in classes:
        raise ValueError(
            f"{label} names estimator class {_short(name)}; skrobust.load only "
            f"creates {sorted(classes)}. Refusing to load it."
        )
    cls = classes[name]
    estimator = _restore_params(cls, meta, label)
    spec = _restore_spec(meta, label)
    for attr, value in _dict(meta, "attributes", label).items():
        setattr(estimator, attr, _check_attribute(attr, _decode(value, attr), label))
    for attr, info in _dict(meta, "arrays", label).items():
        setattr(estimator, attr, _read_array(zf, attr, info, label))
    _check_consistency(estimator, spec, label)

    model = _read_model(zf, spec, estimator, label)
    from skrobust._network import get_weights
    from skrobust._plan import set_fitted_state

    set_fitted_state(
        estimator,
        spec,
        get_weights(model, spec),
        estimator.history_,
        estimator.n_iter_,
        getattr(estimator, "best_epoch_", None),
    )
    return estimator


def _dict(meta, key, label):
    value = meta.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"{label}: {key!r} is missing or not an object.")
    return value


def _restore_params(cls, meta, label):
    from skrobust._validation import validate_params

    params = {k: _decode(v, k) for k, v in _dict(meta, "params", label).items()}
    estimator = cls()
    known = estimator.get_params(deep=False)
    unknown = sorted(set(params) - set(known), key=str)
    if unknown:
        raise ValueError(f"{label}: unknown parameters {unknown} for {cls.__name__}.")
    estimator.set_params(**params)
    try:
        validate_params(estimator)
    except ValueError as exc:
        raise ValueError(f"{label}: invalid saved parameters: {exc}") from None
    return estimator


# The spec fields of the first files of format version 1. Every field added
# since (a noise type, the flag of each later training-noise knob) is absent
# from older files and takes its NetworkSpec default there: off.
_FIRST_SPEC_FIELDS = (
    "n_features",
    "hidden_layer_sizes",
    "n_outputs",
    "task",
    "activation",
    "kernel_initializer",
    "noise_sites",
    "input_dropout",
    "dropout",
    "batchnorm",
    "max_norm",
)


def _later_spec_fields() -> dict:
    """Spec fields added after format version 1 was first written, with the
    value that describes an older file."""
    from skrobust._network import NetworkSpec

    return {
        f.name: f.default
        for f in dataclasses.fields(NetworkSpec)
        if f.name not in _FIRST_SPEC_FIELDS
    }


def _restore_spec(meta, label):
    from skrobust._knobs import NOISE_POSITIONS, NOISE_TYPES, TRAINING_SWITCHES
    from skrobust._network import NetworkSpec

    fields = {k: _decode(v, f"spec.{k}") for k, v in _dict(meta, "spec", label).items()}
    names = {f.name for f in dataclasses.fields(NetworkSpec)}
    # Files written before a training-noise kind existed lack its flag: it
    # was off.
    for name, value in _later_spec_fields().items():
        fields.setdefault(name, value)
    if set(fields) != names:
        raise ValueError(f"{label}: the network description is malformed.")

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    sizes = fields["hidden_layer_sizes"]
    sites = fields["noise_sites"]
    ok = (
        count(fields["n_features"])
        and count(fields["n_outputs"])
        and isinstance(sizes, tuple)
        and len(sizes) > 0
        and all(map(count, sizes))
        and fields["task"] in ("binary", "multiclass", "regression")
        and isinstance(fields["activation"], str)
        and isinstance(fields["kernel_initializer"], str)
        and isinstance(sites, tuple)
        and all(s in NOISE_POSITIONS for s in sites)
        and all(isinstance(fields[f], bool) for f in TRAINING_SWITCHES)
        and fields["batchnorm"] in (None, "before", "after")
        and fields["noise_type"] in NOISE_TYPES
        and (
            fields["max_norm"] is None
            or (isinstance(fields["max_norm"], float) and fields["max_norm"] > 0)
        )
    )
    if not ok:
        raise ValueError(
            f"{label}: the network description is invalid: {_short(fields)}."
        )
    return NetworkSpec(**fields)


def _check_attribute(attr, value, label):
    kind = _SCALAR_ATTRIBUTES.get(attr)

    def real(v):
        return isinstance(v, int | float) and not isinstance(v, bool)

    ok = {
        None: False,
        "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "float": real(value),
        "floats": isinstance(value, list) and all(map(real, value)),
        "history": isinstance(value, dict)
        and all(
            isinstance(k, str) and isinstance(v, list) and all(map(real, v))
            for k, v in value.items()
        ),
    }[kind]
    if not ok:
        raise ValueError(
            f"{label}: unexpected fitted attribute {attr}={_short(value)}."
        )
    if kind == "floats":
        return [float(v) for v in value]
    if kind == "history":
        return {k: [float(x) for x in v] for k, v in value.items()}
    return value


def _read_array(zf, attr, info, label):
    if (
        attr not in _ARRAY_ATTRIBUTES
        or not isinstance(info, dict)
        or not (isinstance(info.get("object"), bool) and set(info) == {"object"})
    ):
        raise ValueError(f"{label}: unexpected array attribute {attr!r}.")
    try:
        arr = np.load(
            io.BytesIO(zf.read(f"{_ARRAY_DIR}{attr}.npy")), allow_pickle=False
        )
    except ValueError as exc:
        # NumPy says "Object arrays cannot be loaded when allow_pickle=False".
        raise ValueError(
            f"{label}: array {attr!r} cannot be read without pickle ({exc}); "
            f"refusing to load it."
        ) from None
    if (
        not isinstance(arr, np.ndarray)
        or arr.ndim != 1
        or (arr.dtype.kind not in _ARRAY_KINDS)
    ):
        raise ValueError(f"{label}: array {attr!r} has an unexpected type.")
    return arr.astype(object) if info["object"] else arr


def _check_consistency(estimator, spec, label):
    """The JSON parts must describe one estimator: a crafted file cannot make
    the spec, parameters and attributes disagree."""
    problems = []
    if getattr(estimator, "n_features_in_", None) != spec.n_features:
        problems.append("n_features_in_ differs from the network's input width")
    for attr in ("n_iter_", "history_", "loss_curve_"):
        if not hasattr(estimator, attr):
            problems.append(f"{attr} is missing")
    if "loss" not in getattr(estimator, "history_", {"loss": None}):
        problems.append("history_ has no 'loss'")
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and len(names) != spec.n_features:
        problems.append("feature_names_in_ has the wrong length")
    best = getattr(estimator, "best_epoch_", None)
    if best is not None and not (
        isinstance(getattr(estimator, "history_", None), dict)
        and best < len(estimator.history_.get("val_loss", ()))
    ):
        problems.append("best_epoch_ is not an epoch of the validation history")
    outputs = estimator._outputs_problem(spec)
    if outputs:
        problems.append(outputs)
    if problems:
        raise ValueError(f"{label}: inconsistent file: {'; '.join(problems)}.")


def _read_model(zf, spec, estimator, label):
    """The network built from ``spec`` with the weights of ``model.keras``.

    The file's Keras config is read as plain JSON and compared with the
    network ``spec`` describes; it is never deserialized, so no Keras object
    (and no ``Lambda`` bytecode) from the file is created. Only the weight
    arrays are read, with ``keras.saving.load_weights``.
    """
    with tempfile.TemporaryDirectory(prefix="skrobust-") as tmp:
        inner = os.path.join(tmp, _MODEL)
        with zf.open(_MODEL) as src, open(inner, "wb") as dst:
            while chunk := src.read(2**20):
                dst.write(chunk)
        _check_size(spec, os.path.getsize(inner), label)
        return _read_inner_model(inner, spec, estimator, label)


def _n_weights(spec) -> int:
    sizes = spec.layer_sizes
    n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if spec.batchnorm:
        n += 4 * sum(spec.hidden_layer_sizes)
    return n


def _check_size(spec, inner_bytes, label):
    """Refuse, before allocating it, a network larger than the file can hold.

    The weights are float32 arrays in an HDF5 file inside a deflated zip;
    deflate compresses at most about 1032:1, so a genuine file is never
    smaller than 4 * n_weights / 1032 bytes.
    """
    n = _n_weights(spec)
    if 4 * n > 1100 * inner_bytes:
        raise ValueError(
            f"{label} describes a network of {n} weights, more than its "
            f"{inner_bytes}-byte {_MODEL} can hold. Refusing to load it."
        )


def _read_inner_model(inner, spec, estimator, label):
    from skrobust._network import build_keras_model, set_hyperparameters

    try:
        with zipfile.ZipFile(inner) as kz:
            config = json.loads(kz.read("config.json").decode("utf-8"))
        layers = config["config"]["layers"]
        found = [(layer["class_name"], layer["config"]["name"]) for layer in layers]
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, EOFError) as exc:
        raise ValueError(
            f"{label}: {_MODEL} is not a readable Keras model file ({exc})."
        ) from None
    model = build_keras_model(spec)
    expected = [(type(layer).__name__, layer.name) for layer in model.layers]
    if found != expected:
        foreign = [f"{n!r} ({c})" for c, n in found if (c, n) not in expected]
        raise ValueError(
            f"{label}: {_MODEL} is not the network the estimator describes"
            + (
                f"; it has layers a skrobust network does not: {', '.join(foreign)}"
                if foreign
                else ""
            )
            + ". Refusing to load it."
        )
    try:
        model.load_weights(inner)
    except Exception as exc:  # h5py and Keras raise many types
        raise ValueError(
            f"{label}: the weights in {_MODEL} cannot be read "
            f"({type(exc).__name__}: {exc})."
        ) from None
    set_hyperparameters(
        model,
        noise_std=estimator.noise_std,
        dropout=estimator.dropout,
        input_dropout=estimator.input_dropout,
    )
    return model
