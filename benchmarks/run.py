"""Benchmark skrobust against scikit-learn and Keras ``Model.fit`` (issue 3).

Usage::

    python benchmarks/run.py                      # every workload, every engine
    python benchmarks/run.py --workload W1        # one workload (repeatable)
    python benchmarks/run.py --engine skrobust-tf --engine sklearn
    python benchmarks/run.py --smoke              # seconds-long run of the harness

Every (engine, workload) pair runs in its own fresh Python process, because
the Keras backend is fixed when Keras is imported and because the first fit
of a fresh process (tracing and compilation included) is one of the figures.
In that process the harness times a first fit, then a second fit of a new
model of the same shape (another seed), and reads the process's peak
resident memory (``ru_maxrss``) at the end. Test accuracy is the first fit's.

Keras ``Model.fit`` runs ``keras_epochs`` epochs where the full run would
take minutes; its times are then scaled linearly to the full epoch count
(the first fit's one-off cost is kept once) and marked ``*`` in the table.
``--smoke`` runs a few epochs on small data, one fit per case, all engines of
one backend in one process and the processes side by side, only to check that
the harness works.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import (  # noqa: E402
    CACHE_ENV,
    WORKLOADS,
    enable_cache_from_env,
    keras_model,
    load,
    sklearn_model,
    timed_fit,
    worker_env,
)

ENGINES = {
    # name: (Keras backend of its process or None, description)
    "skrobust-tf": ("tensorflow", "skrobust, TensorFlow engine"),
    "skrobust-jax": ("jax", "skrobust, JAX engine"),
    "skrobust-tf-cache": ("tensorflow", "skrobust, TF, compilation cache warm"),
    "skrobust-jax-cache": ("jax", "skrobust, JAX, compilation cache warm"),
    "sklearn": (None, "scikit-learn MLPClassifier"),
    "keras-tf": ("tensorflow", "Keras Model.fit, TensorFlow backend"),
    "keras-jax": ("jax", "Keras Model.fit, JAX backend"),
}


# -- one case, in a worker process -------------------------------------------


def _peak_rss_mb() -> float:
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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
    data = load(w, smoke=smoke)
    epochs = w.smoke_epochs if smoke else w.epochs
    keras_epochs = 1 if smoke else w.keras_epochs
    # A smoke run fits once per case (its "second fit" is that fit).
    seeds = (0,) if smoke else (0, 1)
    if engine.startswith("skrobust"):
        enable_cache_from_env()
        out = _run_skrobust(w, data, epochs, seeds)
    elif engine == "sklearn":
        out = _run_sklearn(w, data, epochs, seeds)
    else:
        out = _run_keras(w, data, epochs, keras_epochs, seeds)
    out.update(engine=engine, workload=workload, peak_mb=_peak_rss_mb(), epochs=epochs)
    return out


def _worker(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for item in args.worker:
        engine, workload = item.split(":")
        result = run_case(engine, workload, args.smoke)
        print("RESULT " + json.dumps(result), flush=True)
    return 0


# -- the driver ---------------------------------------------------------------


def _start(cases, smoke, backend, cache=None):
    env = worker_env(backend)
    if cache:
        env[CACHE_ENV] = cache
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        *[f"{e}:{w}" for e, w in cases],
    ]
    if smoke:
        cmd.append("--smoke")
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _collect(proc, cases):
    stdout, stderr = proc.communicate()
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    results = [
        json.loads(line[len("RESULT ") :])
        for line in proc.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    if proc.returncode != 0 or len(results) != len(cases):
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise RuntimeError(f"benchmark worker {cases} failed:\n{tail}")
    return results


def run_all(workloads, engines, smoke=False, log=print) -> list[dict]:
    results = []
    if smoke:
        # One process per backend: the smoke run checks the harness, not
        # first-fit times.
        groups: dict = {}
        for e in engines:
            groups.setdefault(ENGINES[e][0], []).extend((e, w) for w in workloads)
        # ... started together: a smoke run is about the harness, not timing.
        procs = [
            (_start(cases, smoke, backend), cases) for backend, cases in groups.items()
        ]
        for proc, cases in procs:
            results.extend(_collect(proc, cases))
        return results
    cache = tempfile.mkdtemp(prefix="skrobust-bench-cache-")
    for w in workloads:
        for e in engines:
            t = time.perf_counter()
            run_cache = cache if e.endswith("-cache") else None
            if run_cache:
                # Warm the cache: the same case once, not timed.
                _collect(_start([(e, w)], smoke, ENGINES[e][0], run_cache), [(e, w)])
            (res,) = _collect(
                _start([(e, w)], smoke, ENGINES[e][0], run_cache), [(e, w)]
            )
            log(
                f"  {w:<11} {e:<13} done in {time.perf_counter() - t:6.1f} s: "
                + json.dumps(res),
                flush=True,
            )
            results.append(res)
    shutil.rmtree(cache, ignore_errors=True)
    return results


def _ratio(a, b):
    if a is None or b is None or b <= 0:
        return "-"
    return f"{a / b:.3g}x"


def format_table(results) -> str:
    """A Markdown table; ratios are this engine's time divided by
    scikit-learn's / Keras-on-TensorFlow's time in the same run."""
    by = {(r["workload"], r["engine"]): r for r in results}
    head = (
        "| workload | engine | first fit (s) | second fit (s) | peak MB | "
        "test acc | 1st / sklearn | 2nd / sklearn | 1st / Keras | 2nd / Keras |"
    )
    lines = [head, "|" + "---|" * 10]
    notes = []
    for r in results:
        sk = by.get((r["workload"], "sklearn"))
        ke = by.get((r["workload"], "keras-tf"))
        mark = "*" if r.get("scaled") else ""
        if r.get("note"):
            notes.append(f"{r['workload']} {r['engine']}: {r['note']}")
        lines.append(
            f"| {r['workload']} | {r['engine']} | {r['first']:.3f}{mark} | "
            f"{r['second']:.3f}{mark} | {r['peak_mb']:.0f} | {r['accuracy']:.3f} | "
            f"{_ratio(r['first'], sk and sk['first'])} | "
            f"{_ratio(r['second'], sk and sk['second'])} | "
            f"{_ratio(r['first'], ke and ke['first'])} | "
            f"{_ratio(r['second'], ke and ke['second'])} |"
        )
    if notes:
        lines.append("")
        lines.extend(f"- {n}" for n in notes)
    return "\n".join(lines)


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
        return _worker(args)
    workloads = args.workload or list(WORKLOADS)
    # A smoke run checks the harness; the "-cache" engines only add a warm-up
    # run of the same cases, so they run there only when asked for.
    engines = args.engine or [
        e for e in ENGINES if not (args.smoke and e.endswith("-cache"))
    ]
    print(
        f"skrobust benchmarks: {', '.join(workloads)} x {', '.join(engines)}"
        + (" (smoke)" if args.smoke else ""),
        flush=True,
    )
    results = run_all(workloads, engines, smoke=args.smoke)
    print()
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
