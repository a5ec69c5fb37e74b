"""Table-scale benchmark (issue 11): default-parameter fits on the tables data
scientists bring, side by side with scikit-learn.

Usage::

    python benchmarks/tables.py                  # every table, every engine
    python benchmarks/tables.py --table 10k --engine skrobust-tf --engine sklearn-mlp
    python benchmarks/tables.py --tiers          # also the TF engine forced into each tier
    python benchmarks/tables.py --smoke          # seconds-long harness check

Tables (80% train, 20% test, ``random_state=0``):

* ``1k`` / ``10k`` / ``50k``: ``make_classification(n, 20, n_informative=10)``;
* ``wide``: 10,000 rows, 200 features (20 informative);
* ``mixed``: 10,000 rows of a DataFrame with two numeric columns, one
  8-level text column and one 300-level text column, through a
  ``ColumnTransformer`` (one-hot + scaling) in a ``Pipeline``;
* ``reg10k``: ``make_friedman1(10_000, 10)``, a regression.

Engines: skrobust's defaults with ``noise_std=0.1`` (``NoisyMLPClassifier`` /
``NoisyMLPRegressor``: 200 epochs, batch 32, no early stopping) on the
TensorFlow and the JAX backend; scikit-learn's ``MLPClassifier`` /
``MLPRegressor`` defaults (which stop when the training loss stalls, and use
batches of 200); ``HistGradientBoostingClassifier`` / ``Regressor`` defaults.
``skrobust-*-cache`` run with ``skrobust.enable_compilation_cache`` on and
warmed by one untimed run of the same case: their first fit is a fresh
process's with the cache warm. ``--tiers`` adds ``skrobust-tf-graph`` and
``skrobust-tf-xla``: the
TensorFlow engine forced into each of its tiers (``SKROBUST_TF_XLA``).

Every (engine, table) pair runs in a fresh process; it times a first fit
(tracing and compilation included), then a second fit of a fresh estimator
with another seed, and reports milliseconds per mini-batch step of the
second fit, test accuracy (R² for ``reg10k``) of the first and peak memory.
Ratios are against scikit-learn's MLP in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import CACHE_ENV, enable_cache_from_env, timed_fit  # noqa: E402

TABLES = {
    # name: (rows, features, kind)
    "1k": (1_000, 20, "classification"),
    "10k": (10_000, 20, "classification"),
    "50k": (50_000, 20, "classification"),
    "wide": (10_000, 200, "classification"),
    "mixed": (10_000, 4, "mixed"),
    "reg10k": (10_000, 10, "regression"),
}
ENGINES = {
    # name: (Keras backend, forced TF tier)
    "skrobust-tf": ("tensorflow", None),
    "skrobust-jax": ("jax", None),
    "sklearn-mlp": (None, None),
    "hist-gbdt": (None, None),
    "skrobust-tf-cache": ("tensorflow", None),
    "skrobust-jax-cache": ("jax", None),
    "skrobust-tf-graph": ("tensorflow", "0"),
    "skrobust-tf-xla": ("tensorflow", "1"),
}
DEFAULT_ENGINES = (
    "skrobust-tf",
    "skrobust-jax",
    "skrobust-tf-cache",
    "skrobust-jax-cache",
    "sklearn-mlp",
    "hist-gbdt",
)
SMOKE_ROWS = 300


def make_table(name: str, smoke: bool = False):
    """(X_train, X_test, y_train, y_test, is_regression) of a table."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification, make_friedman1
    from sklearn.model_selection import train_test_split

    rows, features, kind = TABLES[name]
    if smoke:
        rows = SMOKE_ROWS
    if kind == "classification":
        X, y = make_classification(
            rows,
            features,
            n_informative=min(features, 10 if features < 100 else 20),
            random_state=0,
        )
        X = X.astype("float32")
    elif kind == "regression":
        X, y = make_friedman1(rows, n_features=features, noise=1.0, random_state=0)
        X = X.astype("float32")
    else:
        rng = np.random.default_rng(0)
        x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
        color = rng.integers(0, 8, size=rows)
        zip_code = rng.integers(0, 300, size=rows)
        effect = rng.normal(size=8)[color] + 0.3 * rng.normal(size=300)[zip_code]
        logit = 1.5 * x1 - x2 + effect
        y = (logit + rng.logistic(size=rows) * 0.5 > 0).astype(int)
        X = pd.DataFrame(
            {
                "x1": x1 * 10 + 50,
                "x2": x2,
                "color": np.array(list("abcdefgh"))[color],
                "zip": [f"z{z:03d}" for z in zip_code],
            }
        )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    return Xtr, Xte, ytr, yte, kind == "regression"


def _preprocessor():
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["color", "zip"]),
        (StandardScaler(), ["x1", "x2"]),
    )


def make_estimator(engine: str, table: str, seed: int, smoke: bool):
    from sklearn.pipeline import make_pipeline

    regression = TABLES[table][2] == "regression"
    if engine.startswith("skrobust"):
        from skrobust import NoisyMLPClassifier, NoisyMLPRegressor

        cls = NoisyMLPRegressor if regression else NoisyMLPClassifier
        est = cls(noise_std=0.1, random_state=seed, epochs=2 if smoke else 200)
    elif engine == "sklearn-mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPRegressor if regression else MLPClassifier
        est = cls(random_state=seed, max_iter=2 if smoke else 200)
    else:
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )

        cls = (
            HistGradientBoostingRegressor
            if regression
            else HistGradientBoostingClassifier
        )
        est = cls(random_state=seed, max_iter=2 if smoke else 100)
    if TABLES[table][2] == "mixed":
        return make_pipeline(_preprocessor(), est)
    return est


def _steps(est, n_train: int, engine: str):
    """Mini-batch steps the fit ran (None for gradient boosting)."""
    final = est[-1] if hasattr(est, "steps") else est
    if engine.startswith("skrobust"):
        return final.n_iter_ * math.ceil(n_train / min(final.batch_size, n_train))
    if engine == "sklearn-mlp":
        bs = min(200, n_train)
        return final.n_iter_ * math.ceil(n_train / bs)
    return None


def run_case(engine: str, table: str, smoke: bool) -> dict:
    if engine.startswith("skrobust"):
        enable_cache_from_env()
    Xtr, Xte, ytr, yte, _ = make_table(table, smoke)
    times, acc, steps = [], None, None
    for seed in (0, 1):
        est = make_estimator(engine, table, seed, smoke)
        times.append(timed_fit(est, Xtr, ytr))
        if acc is None:
            acc = float(est.score(Xte, yte))
        steps = _steps(est, len(Xtr), engine)
    return {
        "engine": engine,
        "table": table,
        "first": times[0],
        "second": times[1],
        "ms_per_step": None if steps is None else 1000 * times[1] / steps,
        "steps": steps,
        "score": acc,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _run(engine: str, table: str, smoke: bool, cache: str) -> dict:
    backend, tier = ENGINES[engine]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    env.pop(CACHE_ENV, None)
    if engine.endswith("-cache"):
        env[CACHE_ENV] = cache
    if backend:
        env["KERAS_BACKEND"] = backend
    env.pop("SKROBUST_TF_XLA", None)
    if tier is not None:
        env["SKROBUST_TF_XLA"] = tier
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, table]
    if smoke:
        cmd.append("--smoke")
    if engine.endswith("-cache"):
        # Warm the cache: the same case once, not timed.
        subprocess.run(cmd, env=env, capture_output=True, text=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{engine} on {table} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def format_table(results) -> str:
    ref = {r["table"]: r for r in results if r["engine"] == "sklearn-mlp"}

    def ratio(a, b):
        return f"{a / b:.2f}x" if b else "-"

    head = (
        "| table | engine | first fit (s) | second fit (s) | ms / step | score "
        "| 1st / sklearn MLP | 2nd / sklearn MLP | peak MB |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in results:
        base = ref.get(r["table"])
        ms = "-" if r["ms_per_step"] is None else f"{r['ms_per_step']:.4f}"
        lines.append(
            f"| {r['table']} | {r['engine']} | {r['first']:.2f} | {r['second']:.2f} "
            f"| {ms} | {r['score']:.3f} "
            f"| {ratio(r['first'], base['first']) if base else '-'} "
            f"| {ratio(r['second'], base['second']) if base else '-'} "
            f"| {r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", action="append", choices=list(TABLES))
    parser.add_argument("--engine", action="append", choices=list(ENGINES))
    parser.add_argument("--tiers", action="store_true", help="add the forced TF tiers")
    parser.add_argument("--smoke", action="store_true", help="tiny tables, 2 epochs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(run_case(*args.worker, args.smoke)), flush=True)
        return 0
    engines = list(args.engine or DEFAULT_ENGINES)
    if args.tiers:
        engines += ["skrobust-tf-graph", "skrobust-tf-xla"]
    results = []
    cache = tempfile.mkdtemp(prefix="skrobust-bench-cache-")
    for table in args.table or list(TABLES):
        for engine in engines:
            t = time.perf_counter()
            res = _run(engine, table, args.smoke, cache)
            print(
                f"  {table:<7} {engine:<18} done in {time.perf_counter() - t:6.1f} s: "
                f"first {res['first']:.2f} s, second {res['second']:.2f} s, "
                f"score {res['score']:.3f}",
                flush=True,
            )
            results.append(res)
    shutil.rmtree(cache, ignore_errors=True)
    print()
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
