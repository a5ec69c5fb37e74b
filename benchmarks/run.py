"""Benchmark skrobust against scikit-learn and Keras ``Model.fit`` (issues 3, 18).

Usage::

    python benchmarks/run.py                      # every workload, every engine
    python benchmarks/run.py --workload W1        # one workload (repeatable)
    python benchmarks/run.py --engine skrobust --engine sklearn
    python benchmarks/run.py --smoke              # seconds-long run of the harness

Engines (``harness.py``): ``skrobust`` (the default install: no
``KERAS_BACKEND``, so Keras on TensorFlow, training in JAX; its program cache
in a fresh empty folder: the first process ever), ``skrobust-cache`` (the
same, the cache folder warmed by one untimed run of the same case in an
earlier process: a later process), ``skrobust-kjax`` (``KERAS_BACKEND=jax``,
TensorFlow never imported, cold cache), ``sklearn`` (``MLPClassifier``, the
nearest model it expresses) and Keras ``Model.fit`` on the TensorFlow
(``keras-tf``) and JAX (``keras-jax``) backends.

Every (engine, workload) pair runs in its own fresh Python process, because
the Keras backend is fixed when Keras is imported and because the first fit
of a fresh process (tracing and compilation included) is one of the figures.
That process first times its imports (skrobust: ``import skrobust; from
skrobust import NoisyMLPClassifier`` and ``import keras``), loads the data,
times a first fit, then a second fit of a new model of the same shape
(another seed), and reads its peak resident memory (``ru_maxrss``) at the
end. Milliseconds per step divide the second fit by its mini-batch steps;
test accuracy is the first fit's. Ratios are against scikit-learn's and
Keras-on-TensorFlow's times in the same run; a "targets" block at the end
checks issue 18's targets on the ``skrobust`` and ``skrobust-cache`` rows.

Keras ``Model.fit`` runs ``keras_epochs`` epochs where the full run would
take minutes; its times are then scaled linearly to the full epoch count
(the first fit's one-off cost is kept once) and marked ``*`` in the table.
``--smoke`` runs a few epochs on small data, all engines of one Keras
backend and cache kind in one process and the processes side by side, only
to check that the harness works.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

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
from workloads import (  # noqa: E402
    WORKLOADS,
    keras_model,
    load,
    sklearn_model,
    timed_fit,
)

ENGINES = {
    **SKROBUST_ENGINES,
    "sklearn": Engine(
        "sklearn",
        "scikit-learn MLPClassifier",
        imports=("sklearn.neural_network:MLPClassifier",),
    ),
    "keras-tf": Engine(
        "keras-tf",
        "Keras Model.fit, TensorFlow backend",
        "tensorflow",
        imports=("keras",),
    ),
    "keras-jax": Engine(
        "keras-jax", "Keras Model.fit, JAX backend", "jax", imports=("keras",)
    ),
}


# -- one case, in a worker process -------------------------------------------


def _run_skrobust(w, data, epochs, seeds):
    from skrobust import NoisyMLPClassifier

    Xtr, ytr, Xte, yte = data
    times, acc = [], None
    for seed in seeds:
        est = NoisyMLPClassifier(**w.skrobust_params(epochs), random_state=seed)
        t = time.perf_counter()
        est.fit(Xtr, ytr)
        times.append(time.perf_counter() - t)
        if acc is None:
            acc = est.score(Xte, yte)
    return {"first": times[0], "second": times[-1], "accuracy": acc, "scaled": False}


def _run_sklearn(w, data, epochs, seeds):
    Xtr, ytr, Xte, yte = data
    times, acc = [], None
    for seed in seeds:
        est = sklearn_model(w, seed, epochs)
        times.append(timed_fit(est, Xtr, ytr))
        if acc is None:
            acc = est.score(Xte, yte)
    note = "without " + ", ".join(w.sklearn_lacks) if w.sklearn_lacks else ""
    return {
        "first": times[0],
        "second": times[-1],
        "accuracy": acc,
        "scaled": False,
        "note": note,
    }


def _run_keras(w, data, epochs, keras_epochs, seeds):
    import numpy as np

    Xtr, ytr, Xte, yte = data
    n_classes = len(np.unique(ytr))
    run_epochs = min(epochs, keras_epochs or epochs)
    times, acc = [], None
    for seed in seeds:
        model = keras_model(w, Xtr.shape[1], n_classes, seed)
        kwargs = {"validation_data": (Xte, yte)} if w.keras_validation else {}
        t = time.perf_counter()
        model.fit(
            Xtr, ytr, epochs=run_epochs, batch_size=w.batch_size, verbose=0, **kwargs
        )
        times.append(time.perf_counter() - t)
        if acc is None:
            acc = float(model.evaluate(Xte, yte, verbose=0)[1])
    first, second = times[0], times[-1]
    scaled = run_epochs < epochs
    if scaled:
        # The second fit is the steady per-epoch cost; the first adds a one-off
        # (tracing) cost on top, kept once.
        per_epoch = second / run_epochs
        first = first + per_epoch * (epochs - run_epochs)
        second = per_epoch * epochs
    out = {
        "first": first,
        "second": second,
        "accuracy": acc,
        "scaled": scaled,
        "epochs_run": run_epochs,
    }
    if scaled:
        out["note"] = (
            f"timed {run_epochs} epochs, scaled to {epochs}; accuracy after {run_epochs}"
        )
    return out


def run_case(engine: str, workload: str, smoke: bool) -> dict:
    w = WORKLOADS[workload]
    start = case_start()
    import_s = import_seconds(ENGINES[engine].imports)
    data = load(w, smoke=smoke)
    epochs = w.smoke_epochs if smoke else w.epochs
    keras_epochs = 1 if smoke else w.keras_epochs
    seeds = (0, 1)
    if engine.startswith("skrobust"):
        out = _run_skrobust(w, data, epochs, seeds)
    elif engine == "sklearn":
        out = _run_sklearn(w, data, epochs, seeds)
    else:
        out = _run_keras(w, data, epochs, keras_epochs, seeds)
    n_train = len(data[0])
    steps = epochs * math.ceil(n_train / min(w.batch_size, n_train))
    out.update(
        engine=engine,
        workload=workload,
        epochs=epochs,
        import_s=import_s,
        ms_per_step=1000 * out["second"] / steps,
        steps=steps,
        **case_facts(start),
    )
    return out


# -- the driver ---------------------------------------------------------------


def run_all(workloads, engines, smoke=False, log=print) -> list[dict]:
    cases = [(e, w) for w in workloads for e in engines]
    return run_cases(Path(__file__).resolve(), cases, ENGINES, smoke=smoke, log=log)


def _ratio(a, b):
    r = ratio(a, b)
    return "-" if r is None else f"{r:.3g}x"


def _ordered(results):
    order_w = {w: i for i, w in enumerate(WORKLOADS)}
    order_e = {e: i for i, e in enumerate(ENGINES)}
    return sorted(results, key=lambda r: (order_w[r["workload"]], order_e[r["engine"]]))


def format_table(results) -> str:
    """A Markdown table; ratios are this engine's time divided by
    scikit-learn's / Keras-on-TensorFlow's time in the same run."""
    by = {(r["workload"], r["engine"]): r for r in results}
    head = (
        "| workload | engine | import (s) | first fit (s) | second fit (s) | "
        "ms / step | peak MB | test acc | 1st / sklearn | 2nd / sklearn | "
        "1st / Keras | 2nd / Keras |"
    )
    lines = [head, "|" + "---|" * 12]
    notes = []
    for r in _ordered(results):
        sk = by.get((r["workload"], "sklearn"))
        ke = by.get((r["workload"], "keras-tf"))
        mark = "*" if r.get("scaled") else ""
        label = f"{r['workload']} {r['engine']}"
        if r.get("note"):
            notes.append(f"{label}: {r['note']}")
        notes.extend(engine_notes(r, label))
        lines.append(
            f"| {r['workload']} | {r['engine']} | {r['import_s']:.2f} | "
            f"{r['first']:.3f}{mark} | {r['second']:.3f}{mark} | "
            f"{r['ms_per_step']:.4f}{mark} | {r['peak_mb']:.0f} | "
            f"{r['accuracy']:.3f} | "
            f"{_ratio(r['first'], sk and sk['first'])} | "
            f"{_ratio(r['second'], sk and sk['second'])} | "
            f"{_ratio(r['first'], ke and ke['first'])} | "
            f"{_ratio(r['second'], ke and ke['second'])} |"
        )
    if notes:
        lines.append("")
        lines.extend(f"- {n}" for n in notes)
    return "\n".join(lines)


def targets(results) -> list[Target]:
    """Issue 18's targets on the workloads, from the ``skrobust`` (cold
    cache) and ``skrobust-cache`` (warm) rows of the default install."""
    by = {(r["workload"], r["engine"]): r for r in results}

    def cell(workload, engine, which):
        r = by.get((workload, engine))
        return r and r[which]

    sk_first = cell("W1", "sklearn", "first")
    return [
        Target(
            "W1 first fit in the first process ever (skrobust) / scikit-learn's fit",
            3.0,
            ratio(cell("W1", "skrobust", "first"), sk_first),
        ),
        Target(
            "W1 first fit in a later process (skrobust-cache) / scikit-learn's fit",
            1.5,
            ratio(cell("W1", "skrobust-cache", "first"), sk_first),
        ),
        Target(
            "W1 warm (second) fit / scikit-learn's second fit",
            0.1,
            ratio(cell("W1", "skrobust", "second"), cell("W1", "sklearn", "second")),
        ),
        Target(
            "W1 (hidden noise) / W1-nonoise, second fits of skrobust",
            1.5,
            ratio(
                cell("W1", "skrobust", "second"),
                cell("W1-nonoise", "skrobust", "second"),
            ),
        ),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(WORKLOADS),
        help="workload to run (repeatable; default: all)",
    )
    parser.add_argument(
        "--engine",
        action="append",
        choices=sorted(ENGINES),
        help="engine to run (repeatable; default: all)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few epochs on small data: checks the harness only",
    )
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.smoke, run_case)
    workloads = args.workload or list(WORKLOADS)
    engines = args.engine or list(ENGINES)
    print(
        f"skrobust benchmarks: {', '.join(workloads)} x {', '.join(engines)}"
        + (" (smoke)" if args.smoke else ""),
        flush=True,
    )
    results = run_all(workloads, engines, smoke=args.smoke)
    print()
    print(format_table(results))
    print()
    print(format_targets(targets(results), args.smoke))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
