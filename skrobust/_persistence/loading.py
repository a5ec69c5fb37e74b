"""Reading a skrobust model file (:func:`load`): the zip members, the array
attributes and the network's weights, refusing anything it cannot vouch for.
The checks on the JSON description are in :mod:`.checks`."""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
import zlib

import numpy as np

from skrobust._persistence.checks import (
    check_attribute,
    check_consistency,
    check_size,
    json_object,
    n_members,
    restore_params,
    restore_spec,
)
from skrobust._persistence.codec import decode, short
from skrobust._persistence.layout import (
    ARRAY_ATTRIBUTES,
    ARRAY_DIR,
    ARRAY_KINDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_META_BYTES,
    META,
    MODEL,
    estimator_classes,
)
from skrobust._persistence.search import restore_search

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
    if META not in names:
        raise ValueError(f"{label} is not a skrobust model file (no {META}).")
    if zf.getinfo(META).file_size > MAX_META_BYTES:
        raise ValueError(f"{label}: {META} is too large to be a skrobust file.")
    try:
        meta = json.loads(zf.read(META).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{label}: {META} is corrupted ({exc}).") from None
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
    expected = {META, MODEL} | {
        f"{ARRAY_DIR}{a}.npy" for a in json_object(meta, "arrays", label)
    }
    if names != expected:
        extra, missing = sorted(names - expected), sorted(expected - names)
        raise ValueError(
            f"{label} does not have the members of a skrobust file "
            f"(unexpected: {extra}, missing: {missing}); refusing to load it."
        )

    classes = estimator_classes()
    name = meta.get("estimator")
    if not isinstance(name, str) or name not in classes:
        raise ValueError(
            f"{label} names estimator class {short(name)}; skrobust.load only "
            f"creates {sorted(classes)}. Refusing to load it."
        )
    cls = classes[name]
    estimator = restore_params(cls, meta, label)
    spec = restore_spec(meta, label)
    for attr, value in json_object(meta, "attributes", label).items():
        setattr(estimator, attr, check_attribute(attr, decode(value, attr), label))
    for attr, info in json_object(meta, "arrays", label).items():
        setattr(estimator, attr, _read_array(zf, attr, info, label))
    check_consistency(estimator, spec, label)

    k = n_members(estimator)
    weights = _read_weights(zf, spec, label, k)
    from skrobust._fitted import set_fitted_state

    if k > 1:
        best = getattr(estimator, "members_best_epoch_", None)
        set_fitted_state(
            estimator,
            spec,
            weights,
            estimator.members_history_,
            estimator.members_n_iter_,
            best if best is not None else [None] * k,
        )
    else:
        set_fitted_state(
            estimator,
            spec,
            weights[0],
            estimator.history_,
            estimator.n_iter_,
            getattr(estimator, "best_epoch_", None),
        )
    if "search" in meta:
        # A CV estimator: the file's estimator is its best_estimator_.
        return restore_search(meta["search"], estimator, label)
    return estimator


def _read_array(zf, attr, info, label):
    if (
        attr not in ARRAY_ATTRIBUTES
        or not isinstance(info, dict)
        or not (isinstance(info.get("object"), bool) and set(info) == {"object"})
    ):
        raise ValueError(f"{label}: unexpected array attribute {attr!r}.")
    try:
        arr = np.load(io.BytesIO(zf.read(f"{ARRAY_DIR}{attr}.npy")), allow_pickle=False)
    except ValueError as exc:
        # NumPy says "Object arrays cannot be loaded when allow_pickle=False".
        raise ValueError(
            f"{label}: array {attr!r} cannot be read without pickle ({exc}); "
            f"refusing to load it."
        ) from None
    if (
        not isinstance(arr, np.ndarray)
        or arr.ndim != 1
        or (arr.dtype.kind not in ARRAY_KINDS)
    ):
        raise ValueError(f"{label}: array {attr!r} has an unexpected type.")
    return arr.astype(object) if info["object"] else arr


def _read_weights(zf, spec, label, n_members=1):
    """The weights of ``model.keras``, in the engine's layout.

    The file's Keras config is read as plain JSON and compared with the
    network ``spec`` describes; it is never deserialized, so no Keras object
    (and no ``Lambda`` bytecode) from the file is created. Only the weight
    arrays are read, with ``keras.saving.load_weights``, into a network
    built from ``spec`` that serves only to read them (``model_`` builds its
    own on first access, as after ``fit``).
    """
    with tempfile.TemporaryDirectory(prefix="skrobust-") as tmp:
        inner = os.path.join(tmp, MODEL)
        with zf.open(MODEL) as src, open(inner, "wb") as dst:
            while chunk := src.read(2**20):
                dst.write(chunk)
        check_size(spec, os.path.getsize(inner), label, n_members)
        return _read_inner_weights(inner, spec, label, n_members)


def _layers(layers):
    """(class name, layer name) of each layer in a Keras config, with the
    layers of a nested network (an ensemble's members) after it."""
    out = []
    for layer in layers:
        out.append((layer["class_name"], layer["config"]["name"]))
        if layer["class_name"] == "Functional":
            out.extend(_layers(layer["config"]["layers"]))
    return out


def _model_layers(model):
    out = []
    for layer in model.layers:
        out.append((type(layer).__name__, layer.name))
        if isinstance(layer, type(model)):
            out.extend(_model_layers(layer))
    return out


def _read_inner_weights(inner, spec, label, n_members=1):
    """The weights of each of the ``n_members`` networks (a list)."""
    from skrobust._network import (
        build_ensemble_model,
        build_keras_model,
        ensemble_members,
        get_weights,
    )

    try:
        with zipfile.ZipFile(inner) as kz:
            config = json.loads(kz.read("config.json").decode("utf-8"))
        found = _layers(config["config"]["layers"])
    except (
        zipfile.BadZipFile,
        KeyError,
        TypeError,
        ValueError,
        EOFError,
        RecursionError,  # networks nested beyond reason
    ) as exc:
        raise ValueError(
            f"{label}: {MODEL} is not a readable Keras model file ({exc})."
        ) from None
    if n_members > 1:
        model = build_ensemble_model(spec, n_members)
        networks = ensemble_members(model, n_members)
    else:
        model = build_keras_model(spec)
        networks = [model]
    expected = _model_layers(model)
    if found != expected:
        foreign = [f"{n!r} ({c})" for c, n in found if (c, n) not in expected]
        raise ValueError(
            f"{label}: {MODEL} is not the network the estimator describes"
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
            f"{label}: the weights in {MODEL} cannot be read "
            f"({type(exc).__name__}: {exc})."
        ) from None
    return [get_weights(network, spec) for network in networks]
