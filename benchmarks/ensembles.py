"""Seed ensembles (issue 14): the fit time of ``n_members=8`` against one
member, side by side in one process on the current Keras backend (training
is in JAX on every backend), and the test accuracy of both.

Usage::

    python benchmarks/ensembles.py            # W1 and the 10k table
    python benchmarks/ensembles.py --quick    # fewer epochs
    python benchmarks/ensembles.py --case W1 --members 8 --repeats 3 --json out.json
    python benchmarks/ensembles.py --smoke                      # seconds-long check

Cases (``--case``, repeatable):

* ``W1``: the circles case study of ``workloads.py`` (30 training rows, 500
  ReLU units, hidden noise 0.1, 4000 epochs; 400 with ``--quick``);
* ``W1-nonoise``: the same without noise (what the hidden noise draws cost
  an ensemble);
* ``10k``: the 10,000-row table of ``tables.py`` (20 features,
  ``make_classification``, 80% train) with skrobust's defaults and
  ``noise_std=0.1`` (200 epochs; 20 with ``--quick``).

For each case and member count, a *first fit* (tracing and compilation
included: the first fit of each count in this process; skrobust's program
cache starts in a fresh empty folder unless ``SKROBUST_CACHE_DIR`` or
``SKROBUST_PROGRAM_CACHE`` is set) and then
``--repeats`` *second fits* with other seeds (compiled programs reused; the
median is reported), alternating 1 and ``--members`` members so that both
see the same machine load; the process CPU time of the second fits (all
threads) is reported beside the wall time. Ratios are ``--members`` over 1.
Without a validation split the members train as one ``jax.vmap``-ed run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CASES = ("W1", "W1-nonoise", "10k")
DEFAULT_CASES = ("W1", "10k")


def load_case(case: str, quick: bool, smoke: bool):
    """(estimator parameters, X_train, y_train, X_test, y_test)."""
    if case.startswith("W1"):
        from workloads import WORKLOADS, load

        w = WORKLOADS[case]
        epochs = w.smoke_epochs if smoke else (w.epochs // 10 if quick else w.epochs)
        Xtr, ytr, Xte, yte = load(w)
        return w.skrobust_params(epochs), Xtr, ytr, Xte, yte
    from tables import make_table

    Xtr, Xte, ytr, yte, _ = make_table(case, smoke=smoke)
    epochs = 2 if smoke else (20 if quick else 200)
    return dict(noise_std=0.1, epochs=epochs), Xtr, ytr, Xte, yte


def run_case(case, members, repeats, quick, smoke):
    from skrobust import NoisyMLPClassifier

    params, Xtr, ytr, Xte, yte = load_case(case, quick, smoke)
    counts = (1, members)
    out = {"case": case, "epochs": params["epochs"], "rows": len(Xtr)}

    def fit(k, seed):
        est = NoisyMLPClassifier(**params, n_members=k, random_state=seed)
        t, c = time.perf_counter(), time.process_time()
        est.fit(Xtr, ytr)
        return time.perf_counter() - t, est, time.process_time() - c

    for k in counts:
        seconds, est, _ = fit(k, 0)
        out[f"first_{k}"] = seconds
        out[f"accuracy_{k}"] = float(est.score(Xte, yte))
        if k > 1:
            spread = est.predict_members(Xte)[..., 1].std(axis=0)
            out[f"member_std_{k}"] = float(spread.mean())
            out[f"member_accuracy_{k}"] = [
                float(((p[:, 1] > 0.5).astype(int) == yte).mean())
                for p in est.predict_members(Xte)
            ]
    second = {k: [] for k in counts}
    cpu = {k: [] for k in counts}
    for r in range(repeats):
        for k in counts:
            seconds, _, cpu_seconds = fit(k, 1 + r)
            second[k].append(seconds)
            cpu[k].append(cpu_seconds)
    for k in counts:
        out[f"second_{k}"] = statistics.median(second[k])
        out[f"second_cpu_{k}"] = statistics.median(cpu[k])
    out["first_ratio"] = out[f"first_{members}"] / out["first_1"]
    out["second_ratio"] = out[f"second_{members}"] / out["second_1"]
    # Process CPU time (all threads): the work done, less sensitive than the
    # wall time to other processes on a shared machine.
    out["second_cpu_ratio"] = out[f"second_cpu_{members}"] / out["second_cpu_1"]
    return out


def format_rows(results, members) -> str:
    head = (
        f"| case | epochs | first 1 (s) | first {members} (s) | ratio | "
        f"second 1 (s) | second {members} (s) | ratio | CPU-time ratio | accuracy 1 | "
        f"accuracy {members} |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        lines.append(
            f"| {r['case']} | {r['epochs']} | {r['first_1']:.2f} | "
            f"{r[f'first_{members}']:.2f} | {r['first_ratio']:.2f}x | "
            f"{r['second_1']:.2f} | {r[f'second_{members}']:.2f} | "
            f"{r['second_ratio']:.2f}x | {r['second_cpu_ratio']:.2f}x | "
            f"{r['accuracy_1']:.3f} | "
            f"{r[f'accuracy_{members}']:.3f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=CASES)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the epochs")
    parser.add_argument("--smoke", action="store_true", help="seconds-long check")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from harness import use_fresh_program_cache

    use_fresh_program_cache()
    import keras

    backend = keras.backend.backend()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"backend {backend}, load average {load}", flush=True)
    repeats = 1 if args.smoke else args.repeats
    results = []
    for case in args.case or DEFAULT_CASES:
        r = run_case(case, args.members, repeats, args.quick, args.smoke)
        r["backend"] = backend
        results.append(r)
        print(json.dumps(r), flush=True)
    print(format_rows(results, args.members))
    if hasattr(os, "getloadavg"):
        print(f"load average at the end {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
