"""Entry points of the training engine, JAX whatever Keras's backend is.

The estimator calls :func:`train` and :func:`predict`; they reuse a compiled program
for every fit with the same :class:`~skrobust._spec.NetworkSpec` and
:class:`TrainConfig` (``GridSearchCV`` clones the estimator for every fit, so
recompiling per estimator would cost more than training) from the engine's
one cache, and run epochs in compiled chunks (``_loop.run_chunks``) so that
history, early stopping and progress reporting cost one host round trip per
chunk, not per epoch. :func:`prepare_data` lays out a fit's arrays, padded to
whole mini-batches and to sizes that nearby data sets share."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np

from skrobust._knobs import ENGINE_VALUES, read_by
from skrobust._spec import inference_spec
from skrobust.engine import _core, _disk_cache, _loop, _random
from skrobust.engine._loop import TrainConfig, TrainResult

# Epochs per compiled call: large enough that the per-call cost vanishes, small
# enough that early stopping wastes no work (the loop exits on its own) and a
# progress bar moves.
MAX_CHUNK = 512
_CACHE_SIZE = 128


class _CompiledCache:
    """A small thread-safe LRU of compiled programs."""

    def __init__(self, size):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            value = self._items.setdefault(key, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self):
        with self._lock:
            self._items.clear()


# The engine's one cache: training chunks ("loop"), batched training runs
# ("batched") and predict functions ("predict").
_PROGRAMS = _CompiledCache(_CACHE_SIZE)


def compiled_program(key, make):
    """The program for ``key`` (its kind first) from the engine's one
    in-memory cache: ``make()`` returns the function to compile (not
    jitted), which a ``_disk_cache.Program`` compiles per signature or loads
    from the on-disk cache. ``clear_cache`` empties the memory cache only."""
    return _PROGRAMS.get(key, lambda: _disk_cache.Program(make(), key))


def to_device(tree):
    return jax.tree_util.tree_map(jnp.asarray, tree)


def to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))


def _predict_fn(spec):
    def predict(params, bn, X):
        logits, _ = _core.forward(spec, params, bn, X)
        return _core.output_activation(spec, logits)

    return predict


def chunk_size(epochs: int, verbose: int = 0) -> int:
    """Epochs per compiled call, rounded to a power of two so that nearby
    epoch counts share one compiled program."""
    target = min(epochs, MAX_CHUNK)
    if verbose:
        target = min(target, max(1, epochs // 20))
    return 1 << max(0, math.ceil(math.log2(max(target, 1))))


def make_config(
    *,
    optimizer,
    batch_size,
    n_train,
    shuffle,
    has_val,
    early_stopping,
    patience,
    epochs,
    verbose=0,
    convergence=False,
) -> TrainConfig:
    """The compile-time configuration of a fit. ``convergence``: stop when
    the training loss stalls (``tol`` and ``patience``); with
    ``early_stopping`` the validation loss is watched instead."""
    batch_size = min(batch_size, n_train)
    n_batches = math.ceil(n_train / batch_size)
    if n_batches == 1:
        # One mini-batch holds every row (scikit-learn's "auto" batch on a
        # table under 200 rows): pad it with masked rows to a size that
        # nearby sizes share. Masked rows enter no sum, so training is the
        # same, while fits of nearby sizes (the folds of a cross-validation,
        # a search's refit, scikit-learn's estimator checks) share one
        # compiled program instead of compiling one each.
        batch_size = shared_rows(n_train)
    keys = ("loss", "score") + (("val_loss", "val_score") if has_val else ())
    return TrainConfig(
        optimizer=optimizer,
        batch_size=batch_size,
        n_batches=n_batches,
        shuffle=bool(shuffle),
        has_val=bool(has_val),
        early_stopping=bool(early_stopping),
        patience=int(patience),
        chunk=chunk_size(epochs, verbose),
        history_keys=keys,
        convergence=bool(convergence) and not early_stopping,
    )


def prepare_data(X, y, w, X_val=None, y_val=None, batch_size=None):
    """Arrays in the layout the loop expects (float32, masks, sums of squares
    for the R^2 of regressors).

    With ``batch_size``, the training rows are padded with masked rows up to
    a whole number of batches. The loop gives masked rows no weight and sorts
    them last, so training is unchanged, while every data set with the same
    number of batches shares one compiled program (the folds of a
    cross-validation differ by a row or two).
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    n = X.shape[0]
    y_ss = np.float32(_sum_squares(y))
    w = np.asarray(w, dtype=np.float32)
    mask = np.ones(n, dtype=np.float32)
    data = {"X": X, "y": y, "w": w, "mask": mask}
    if batch_size:
        data = _padded(data, -(-n // batch_size) * batch_size, axis=0)
    data["X"] = np.ascontiguousarray(data["X"])
    data["y_ss"] = y_ss
    if X_val is not None:
        y_val = np.asarray(y_val)
        data["y_val_ss"] = np.float32(_sum_squares(y_val))
        nv = X_val.shape[0]
        # Padded with masked rows to a shared size, so that validation sets
        # of nearby sizes (the folds of a cross-validation) share one
        # compiled program.
        pad = shared_rows(nv) - nv
        X_val = np.asarray(X_val, dtype=np.float32)
        data["X_val"] = np.concatenate([X_val, np.zeros((pad, X_val.shape[1]), "f4")])
        data["y_val"] = np.concatenate(
            [y_val, np.zeros((pad, *y_val.shape[1:]), y_val.dtype)]
        )
        data["val_mask"] = np.concatenate([np.ones(nv, "f4"), np.zeros(pad, "f4")])
    return data


_ROW_ARRAYS = ("X", "y", "w", "mask")


def _padded(data, rows, axis):
    """``data`` with its training arrays padded by zero rows along ``axis``
    to ``rows`` rows (mask 0: the loop gives them no weight)."""
    pad = rows - data["X"].shape[axis]
    if pad <= 0:
        return data
    out = dict(data)
    for k in _ROW_ARRAYS:
        a = np.asarray(data[k])
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, pad)
        out[k] = np.pad(a, widths)
    return out


def pad_rows(data, cfg, axis=0):
    """``data`` padded with masked rows to whole mini-batches (``n_batches *
    batch_size`` rows along ``axis``), the one way the loop meets a ragged
    last batch. Data from ``prepare_data`` with the fit's batch size is
    already whole."""
    return _padded(data, cfg.n_batches * cfg.batch_size, axis)


def shared_rows(n: int) -> int:
    """``n`` rounded up to a size shared by nearby sizes: a multiple of an
    eighth of the next power of two (at least 32), so at most 1/8 more."""
    step = 1 << max(5, math.ceil(math.log2(max(n, 1))) - 3)
    return -(-n // step) * step


def _sum_squares(y):
    if y.dtype.kind == "f":
        return float(np.sum((y - y.mean(axis=0)) ** 2))
    return 0.0


def hyper_arrays(**values):
    """The values a compiled program takes as data (so one program serves a
    whole grid), one per entry of ``_knobs.ENGINE_VALUES``: a float32 scalar,
    or a float32 array with one entry per feature (``input_noise_scale``,
    which multiplies the std of additive input noise) or per target column
    (``target_noise_scale``, the same for target noise). A value not given
    takes its knob's default."""
    unknown = set(values) - {v.name for v in ENGINE_VALUES}
    if unknown:
        raise TypeError(f"hyper_arrays() got unknown values {sorted(unknown)}")
    out = {}
    for v in ENGINE_VALUES:
        value = values.get(v.name, v.default)
        if value is None:
            raise TypeError(f"hyper_arrays() needs a value for {v.name!r}")
        if v.shape == "scalar":
            out[v.name] = np.float32(value)
        else:
            out[v.name] = np.asarray(value, np.float32)
    return out


def used_hyper(spec, cfg, hyper: dict) -> dict:
    """The entries of ``hyper`` that the program for ``spec`` and ``cfg``
    reads (``_knobs.read_by``). A ``tf.while_loop`` compiled by XLA takes the
    inputs it closes over as loop variables, carried through every
    iteration; a fit passes only what it uses."""
    keys = read_by(spec, cfg)
    return {k: v for k, v in hyper.items() if k in keys}


def train(
    spec, cfg, weights, data, hyper, seed, epochs, progress=None, opt=None, step=0
) -> TrainResult:
    """Train ``weights`` for up to ``epochs`` epochs; return NumPy weights.

    ``progress``, if given, is called with the number of epochs each chunk
    ran. ``opt`` and ``step`` (a previous result's) carry the optimizer's
    state on (a continued fit passes a new ``seed``, so that it does not
    replay the random draws it has seen).
    """
    loop = compiled_program(("loop", spec, cfg), lambda: _loop.make_run(spec, cfg))
    state = _core.init_state(spec, cfg, weights, to_device, opt, step)
    data = to_device(pad_rows(data, cfg))
    hyper = to_device(used_hyper(spec, cfg, hyper))
    key = _random.make_key(seed)
    out, rows = _loop.run_chunks(
        loop, state, data, hyper, key, epochs, cfg, to_numpy, progress
    )
    return _loop.to_result(cfg, out, rows)


# Rows per compiled predict call: bounds memory on large inputs while one
# call still covers every small data set.
PREDICT_BATCH = 65536


def predict(spec, weights, X) -> np.ndarray:
    """Output-layer activations (probabilities or regression values)."""
    # Noise, dropout and the other training-only parts change nothing at
    # inference: the fits of a search over them share one predict program.
    spec = inference_spec(spec)
    fn = compiled_program(("predict", spec), lambda: _predict_fn(spec))
    params = to_device(weights["params"])
    bn = to_device(weights["bn_state"])
    X = np.asarray(X, dtype=np.float32)
    outs = []
    for i in range(0, X.shape[0], PREDICT_BATCH):
        part = X[i : i + PREDICT_BATCH]
        # Pad to a power of two so that inputs of nearby sizes share one
        # compiled program.
        n = part.shape[0]
        size = 1 << max(5, math.ceil(math.log2(n)))
        if size > n:
            part = np.concatenate([part, np.zeros((size - n, X.shape[1]), X.dtype)])
        outs.append(to_numpy(fn(params, bn, part))[:n])
    if not outs:
        return np.zeros((0, spec.n_outputs), dtype=np.float32)
    return np.concatenate(outs, axis=0)


def clear_cache():
    """Forget every compiled program (frees their memory)."""
    _PROGRAMS.clear()
