"""Table-scale benchmark (issues 11, 18): default-parameter fits on the tables
data scientists bring, side by side with scikit-learn.

Usage::

    python benchmarks/tables.py                  # every table, every engine
    python benchmarks/tables.py --table 10k --engine skrobust --engine sklearn-mlp
    python benchmarks/tables.py --smoke          # seconds-long harness check

Tables (80% train, 20% test, ``random_state=0``):

* ``1k`` / ``10k`` / ``50k``: ``make_classification(n, 20, n_informative=10)``;
* ``wide``: 10,000 rows, 200 features (20 informative);
* ``mixed``: 10,000 rows of a DataFrame with two numeric columns, one
  8-level text column and one 300-level text column, through a
  ``ColumnTransformer`` (one-hot + scaling) in a ``Pipeline``;
* ``reg10k``: ``make_friedman1(10_000, 10)``, a regression.

Engines: skrobust's defaults with ``noise_std=0.1`` (``NoisyMLPClassifier`` /
``NoisyMLPRegressor``: at most 200 epochs, batches of ``min(200, n)``,
scikit-learn's stop when the training loss stalls), trained in JAX, as ``skrobust`` (the default install: no ``KERAS_BACKEND``, so Keras on
TensorFlow; the program cache in a fresh empty folder: the first process
ever), ``skrobust-cache`` (the same, the cache folder warmed by one untimed
run of the same case in an earlier process: a later process) and
``skrobust-kjax`` (``KERAS_BACKEND=jax``, TensorFlow never imported, cold
cache); scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` defaults
(``sklearn-mlp``: they stop when the training loss stalls, and use batches of
200); ``HistGradientBoostingClassifier`` / ``Regressor`` defaults
(``hist-gbdt``).

Every (engine, table) pair runs in a fresh process; it times its imports
(skrobust: ``import skrobust; from skrobust import NoisyMLPClassifier`` and
``import keras``), makes the table, times a first fit (tracing and
compilation, or loading from the cache, included), then a second fit of a
fresh estimator with another seed, and reports milliseconds per mini-batch
step of the second fit, test accuracy (R² for ``reg10k``) of the first and
peak memory. Ratios are against scikit-learn's MLP in the same run; a
"targets" block at the end checks issue 18's targets on the ``skrobust`` and
``skrobust-cache`` rows. ``--smoke`` runs tiny tables for 2 epochs, all
engines of one Keras backend and cache kind in one process and the processes
side by side, only to check the harness.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    SKROBUST_ENGINES,
    Engine,
    Target,
    case_facts,
    case_start,
    engine_notes,
    format_targets,
    import_seconds,
    ratio,
    run_cases,
    worker_main,
)
from workloads import timed_fit  # noqa: E402

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
    **SKROBUST_ENGINES,
    "sklearn-mlp": Engine(
        "sklearn-mlp",
        "scikit-learn MLP defaults",
        imports=("sklearn.neural_network:MLPClassifier",),
    ),
    "hist-gbdt": Engine(
        "hist-gbdt",
        "scikit-learn HistGradientBoosting defaults",
        imports=("sklearn.ensemble:HistGradientBoostingClassifier",),
    ),
}
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
    if not engine.startswith(("skrobust", "sklearn-mlp")):
        return None
    # "auto" (both libraries' default) is min(200, n).
    bs = final.batch_size
    bs = min(200 if bs == "auto" else bs, n_train)
    return final.n_iter_ * math.ceil(n_train / bs)


def run_case(engine: str, table: str, smoke: bool) -> dict:
    start = case_start()
    import_s = import_seconds(ENGINES[engine].imports)
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
        "import_s": import_s,
        "first": times[0],
        "second": times[1],
        "ms_per_step": None if steps is None else 1000 * times[1] / steps,
        "steps": steps,
        "score": acc,
        **case_facts(start),
    }


def run_all(tables, engines, smoke=False, log=print) -> list[dict]:
    cases = [(e, t) for t in tables for e in engines]
    return run_cases(Path(__file__).resolve(), cases, ENGINES, smoke=smoke, log=log)


def _ordered(results):
    order_t = {t: i for i, t in enumerate(TABLES)}
    order_e = {e: i for i, e in enumerate(ENGINES)}
    return sorted(results, key=lambda r: (order_t[r["table"]], order_e[r["engine"]]))


def format_table(results) -> str:
    ref = {r["table"]: r for r in results if r["engine"] == "sklearn-mlp"}

    def fmt(a, b):
        r = ratio(a, b)
        return "-" if r is None else f"{r:.2f}x"

    head = (
        "| table | engine | import (s) | first fit (s) | second fit (s) | ms / step "
        "| score | 1st / sklearn MLP | 2nd / sklearn MLP | peak MB |"
    )
    lines = [head, "|" + "---|" * 10]
    notes = []
    for r in _ordered(results):
        base = ref.get(r["table"]) or {}
        ms = "-" if r["ms_per_step"] is None else f"{r['ms_per_step']:.4f}"
        notes.extend(engine_notes(r, f"{r['table']} {r['engine']}"))
        lines.append(
            f"| {r['table']} | {r['engine']} | {r['import_s']:.2f} "
            f"| {r['first']:.2f} | {r['second']:.2f} | {ms} | {r['score']:.3f} "
            f"| {fmt(r['first'], base.get('first'))} "
            f"| {fmt(r['second'], base.get('second'))} "
            f"| {r['peak_mb']:.0f} |"
        )
    if notes:
        lines.append("")
        lines.extend(f"- {n}" for n in notes)
    return "\n".join(lines)


def targets(results) -> list[Target]:
    """Issue 18's targets on the tables, from the ``skrobust`` (cold cache)
    and ``skrobust-cache`` (warm) rows of the default install."""
    by = {(r["table"], r["engine"]): r for r in results}

    def cell(table, engine, which):
        r = by.get((table, engine))
        return r and r[which]

    out = [
        Target(
            f"{t} default fit (second) / scikit-learn MLP's",
            0.5,
            ratio(cell(t, "skrobust", "second"), cell(t, "sklearn-mlp", "second")),
        )
        for t in ("1k", "10k", "50k")
    ]
    sk_first = cell("1k", "sklearn-mlp", "first")
    out += [
        Target(
            "ms per step, 50k / 1k (skrobust, second fits)",
            1.2,
            ratio(
                cell("50k", "skrobust", "ms_per_step"),
                cell("1k", "skrobust", "ms_per_step"),
            ),
        ),
        Target(
            "1k first fit in the first process ever (skrobust) / scikit-learn MLP's fit",
            3.0,
            ratio(cell("1k", "skrobust", "first"), sk_first),
        ),
        Target(
            "1k first fit in a later process (skrobust-cache) / scikit-learn MLP's fit",
            1.5,
            ratio(cell("1k", "skrobust-cache", "first"), sk_first),
        ),
    ]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", action="append", choices=list(TABLES))
    parser.add_argument("--engine", action="append", choices=list(ENGINES))
    parser.add_argument("--smoke", action="store_true", help="tiny tables, 2 epochs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.smoke, run_case)
    tables = args.table or list(TABLES)
    engines = args.engine or list(ENGINES)
    print(
        f"skrobust table benchmark: {', '.join(tables)} x {', '.join(engines)}"
        + (" (smoke)" if args.smoke else ""),
        flush=True,
    )
    results = run_all(tables, engines, smoke=args.smoke)
    print()
    print(format_table(results))
    print()
    print(format_targets(targets(results), args.smoke))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
