"""BatchedGridSearchCV against GridSearchCV on W1 (issue 6's target).

Workload: ``make_circles(n_samples=100, noise=0.1, random_state=1)``, all 100
rows, 5-fold stratified CV; ``NoisyMLPClassifier((500,), noise_position=
"pre_activation", epochs=1000, random_state=0)``; a grid of 10 noise levels,
so 50 fits. Both searches run on the same splits in one process, each timed
cold (compiled-program caches cleared first and skrobust's program cache in
a fresh empty folder, so compilation is included, as a user's first search
in the first process ever pays it) and warm (run again).

Targets: batched time <= 0.33x GridSearchCV's, and the mean test score of
every candidate within 0.03 of GridSearchCV's.

A second check measures common random numbers: the same 50 members trained
with one shared seed (every draw made once) and with 50 distinct seeds (every
member draws its own noise).

Run: ``python benchmarks/bench_batched.py [--epochs N]`` (the default install;
training is in JAX whatever ``KERAS_BACKEND`` is, which only decides what
builds ``model_``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from harness import use_fresh_program_cache  # noqa: E402

use_fresh_program_cache()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_circles  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from skrobust import NoisyMLPClassifier, engine  # noqa: E402
from skrobust.model_selection import BatchedGridSearchCV  # noqa: E402

NOISE = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0]


def clear():
    engine.clear_cache()


def timed(search, X, y, cold):
    if cold:
        clear()
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start


def crn_check(epochs):
    """Shared seed vs distinct seeds for the same 50 members."""
    from skrobust._network import NetworkSpec, init_weights
    from skrobust.engine import _jax_batched

    X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    spec = NetworkSpec(2, (500,), 1, "binary", noise_sites=("pre_activation",))
    cfg = engine.make_config(
        optimizer="adam",
        batch_size=32,
        n_train=80,
        shuffle=True,
        has_val=False,
        early_stopping=False,
        patience=10,
        epochs=epochs,
    )
    M = 50
    one = engine.prepare_data(X[:80], y[:80, None].astype(np.float32), np.ones(80))
    data = {k: np.stack([v] * M) for k, v in one.items()}
    hyper = {
        k: np.stack([v] * M)
        for k, v in engine.hyper_arrays(
            noise_std=0.1,
            dropout=0.0,
            input_dropout=0.0,
            learning_rate=1e-3,
            momentum=0.0,
        ).items()
    }
    weights = [init_weights(spec, m) for m in range(M)]
    out = {}
    for label, seeds in (("shared seed", [0] * M), ("distinct seeds", list(range(M)))):
        _jax_batched.train_members(spec, cfg, weights, data, hyper, seeds, 2)  # compile
        start = time.perf_counter()
        _jax_batched.train_members(spec, cfg, weights, data, hyper, seeds, epochs)
        out[label] = time.perf_counter() - start
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument(
        "--no-warm", action="store_true", help="time only the cold searches"
    )
    args = parser.parse_args()

    X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    est = NoisyMLPClassifier(
        (500,), noise_position="pre_activation", epochs=args.epochs, random_state=0
    )
    grid = {"noise_std": NOISE}
    cv = list(StratifiedKFold(5).split(X, y))
    plain = GridSearchCV(est, grid, cv=cv)
    batched = BatchedGridSearchCV(est, grid, cv=cv)

    print(
        f"W1, all 100 rows, 5-fold CV, 500 hidden units, {args.epochs} epochs, "
        f"{len(NOISE)} noise levels = {5 * len(NOISE)} fits; "
        f"Keras backend {keras.backend.backend()}"
    )
    rows = []
    t_plain = timed(plain, X, y, cold=True)
    t_batched = timed(batched, X, y, cold=True)
    rows.append(("cold (with compilation)", t_plain, t_batched))
    if not args.no_warm:
        rows.append(
            ("warm", timed(plain, X, y, cold=False), timed(batched, X, y, cold=False))
        )
    print(f"{'':26s} {'GridSearchCV':>13s} {'Batched':>9s} {'ratio':>7s}")
    for label, tp, tb in rows:
        print(f"{label:26s} {tp:12.2f}s {tb:8.2f}s {tb / tp:7.3f}")
    a = plain.cv_results_["mean_test_score"]
    b = batched.cv_results_["mean_test_score"]
    print("noise_std      " + " ".join(f"{s:6.2f}" for s in NOISE))
    print("GridSearchCV   " + " ".join(f"{s:6.3f}" for s in a))
    print("Batched        " + " ".join(f"{s:6.3f}" for s in b))
    print(f"max |mean test score difference| = {np.max(np.abs(a - b)):.4f}")
    print(f"batch info: {batched.batch_info_}")
    crn = crn_check(args.epochs)
    print(
        "common random numbers, 50 members (warm): "
        + ", ".join(f"{k} {v:.2f}s" for k, v in crn.items())
    )


if __name__ == "__main__":
    main()
