"""Entry points of the training engine, independent of the Keras backend.

The estimator calls :func:`train` and :func:`predict`; they pick the module of
the active Keras backend (``_jax.py`` or ``_tf.py``), reuse a compiled program
for every fit with the same :class:`~skrobust._network.NetworkSpec` and
:class:`TrainConfig` (``GridSearchCV`` clones the estimator for every fit, so
recompiling per estimator would cost more than training), and run epochs in
compiled chunks so that history, early stopping and progress reporting cost
one host round trip per chunk, not per epoch.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import keras
import numpy as np

from skrobust._knobs import ENGINE_VALUES, read_by
from skrobust._network import inference_spec
from skrobust.engine import _core

# Epochs per compiled call: large enough that the per-call cost vanishes, small
# enough that early stopping wastes no work (the loop exits on its own) and a
# progress bar moves.
MAX_CHUNK = 512
_CACHE_SIZE = 64


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a fit that is fixed at compile time."""

    optimizer: str
    batch_size: int
    n_batches: int
    shuffle: bool
    has_val: bool
    early_stopping: bool
    patience: int
    chunk: int
    # Mini-batch steps of the whole fit, rounded up to a power of two (so
    # that nearby epoch counts share a program). A backend may pick its
    # compilation strategy from it; it never depends on ``verbose``, so a
    # fit trains identically with and without a progress bar.
    fit_steps: int = 0
    history_keys: tuple[str, ...] = field(default=("loss", "score"))


@dataclass
class TrainResult:
    weights: dict
    history: dict
    n_iter: int
    diverged: bool
    best_epoch: int | None


def backend_module():
    name = keras.backend.backend()
    if name == "jax":
        from skrobust.engine import _jax as mod
    elif name == "tensorflow":
        from skrobust.engine import _tf as mod
    else:
        raise RuntimeError(
            f"skrobust trains with the 'tensorflow' or 'jax' Keras backend; the "
            f"active backend is {name!r}. Set KERAS_BACKEND=tensorflow or "
            f"KERAS_BACKEND=jax before importing keras."
        )
    return mod


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


_LOOPS = _CompiledCache(_CACHE_SIZE)
_PREDICTS = _CompiledCache(_CACHE_SIZE)


def compiled_program(key, make):
    """The compiled program for ``key`` from the engine's one cache (made by
    ``make`` on a miss); ``clear_cache`` empties it."""
    return _LOOPS.get((keras.backend.backend(), *key), make)


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
) -> TrainConfig:
    batch_size = min(batch_size, n_train)
    n_batches = math.ceil(n_train / batch_size)
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
        fit_steps=1 << max(0, math.ceil(math.log2(max(epochs * n_batches, 1)))),
        history_keys=keys,
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
    if batch_size:
        pad = -n % batch_size
        if pad:
            X = np.concatenate([X, np.zeros((pad, X.shape[1]), X.dtype)])
            y = np.concatenate([y, np.zeros((pad, *y.shape[1:]), y.dtype)])
            w = np.concatenate([w, np.zeros(pad, w.dtype)])
            mask = np.concatenate([mask, np.zeros(pad, mask.dtype)])
    data = {
        "X": np.ascontiguousarray(X),
        "y": y,
        "w": w,
        "mask": mask,
        "y_ss": y_ss,
    }
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
    iteration; a fit passes only what it uses (docs/benchmarks.md measured
    the difference)."""
    keys = read_by(spec, cfg)
    return {k: v for k, v in hyper.items() if k in keys}


def train(spec, cfg, weights, data, hyper, seed, epochs, progress=None) -> TrainResult:
    """Train ``weights`` for up to ``epochs`` epochs; return NumPy weights.

    ``progress``, if given, is called with the number of epochs each chunk ran.
    """
    mod = backend_module()
    loop = compiled_program(("loop", spec, cfg), lambda: mod.compile_loop(spec, cfg))
    state = _core.init_state(spec, cfg, weights, mod.to_device)
    data = mod.to_device(data)
    hyper = mod.to_device(used_hyper(spec, cfg, hyper))
    key = mod.make_key(seed)
    history = {k: [] for k in cfg.history_keys}
    done = 0
    while done < epochs:
        n = min(cfg.chunk, epochs - done)
        state, hist, ran = loop(state, data, hyper, key, np.int32(done), np.int32(n))
        hist = mod.to_numpy(hist)
        stopped = bool(mod.to_numpy(state["stopped"]))
        ran = int(mod.to_numpy(ran))
        for k in history:
            history[k].extend(float(v) for v in hist[k][:ran])
        done += ran
        if progress is not None:
            progress(ran)
        if stopped or ran == 0:
            break
    out = mod.to_numpy(state)
    diverged = bool(out["diverged"])
    if diverged:
        # The epoch that produced non-finite values is not part of the result.
        for k in history:
            del history[k][int(out["n_iter"]) :]
    best_epoch = None
    # After a divergence the history ends before an epoch that may have been
    # the best so far; only a best epoch that is still part of it counts.
    if cfg.early_stopping and 0 <= int(out["best_epoch"]) < int(out["n_iter"]):
        best_epoch = int(out["best_epoch"])
        weights = {"params": out["best_params"], "bn_state": out["best_bn"]}
    else:
        weights = {"params": out["params"], "bn_state": out["bn"]}
    return TrainResult(
        weights=weights,
        history=history,
        n_iter=int(out["n_iter"]),
        diverged=diverged,
        best_epoch=best_epoch,
    )


# Rows per compiled predict call: bounds memory on large inputs while one
# call still covers every small data set.
PREDICT_BATCH = 65536


def predict(spec, weights, X) -> np.ndarray:
    """Output-layer activations (probabilities or regression values)."""
    mod = backend_module()
    # Noise, dropout and the other training-only parts change nothing at
    # inference: the fits of a search over them share one predict program.
    spec = inference_spec(spec)
    fn = _PREDICTS.get(
        (keras.backend.backend(), spec), lambda: mod.compile_predict(spec)
    )
    params = mod.to_device(weights["params"])
    bn = mod.to_device(weights["bn_state"])
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
        outs.append(mod.to_numpy(fn(params, bn, part))[:n])
    if not outs:
        return np.zeros((0, spec.n_outputs), dtype=np.float32)
    return np.concatenate(outs, axis=0)


def clear_cache():
    """Forget every compiled program (frees their memory)."""
    _LOOPS.clear()
    _PREDICTS.clear()
