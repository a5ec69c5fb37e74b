"""Do repeated fits slow down or grow memory? (issue 3)

Runs ``--fits`` consecutive W1-shaped fits (circles, 30 rows, 500 hidden ReLU,
hidden noise 0.1, Adam, batch 32), each a fresh estimator with its own seed,
in one process per skrobust engine of ``--engines`` (``harness.py``: by default
``skrobust``, the default install; ``skrobust-kjax`` has Keras on JAX), the way
``GridSearchCV`` clones and refits. The program cache starts empty, so the
first fit compiles. Prints per-fit times, the mean of the first and last ten
warm fits, the least-squares slope of time over fit index, and resident memory
after the first warm fit and after the last.

Usage::

    python benchmarks/repeated_fits.py                    # 100 fits, 1000 epochs each
    python benchmarks/repeated_fits.py --epochs 4000 --engines skrobust,skrobust-kjax
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import SKROBUST_ENGINES, fresh_cache_dir, worker_env  # noqa: E402
from workloads import WORKLOADS, load  # noqa: E402


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _worker(fits: int, epochs: int) -> dict:
    from skrobust import NoisyMLPClassifier

    w = WORKLOADS["W1"]
    Xtr, ytr, _, _ = load(w)
    times, rss = [], []
    for seed in range(fits):
        est = NoisyMLPClassifier(**w.skrobust_params(epochs), random_state=seed)
        t = time.perf_counter()
        est.fit(Xtr, ytr)
        times.append(time.perf_counter() - t)
        rss.append(_rss_mb())
    return {"times": times, "rss": rss}


def summarize(times, rss) -> dict:
    warm = np.asarray(times[1:])
    k = min(10, len(warm) // 2) or 1
    slope = (
        float(np.polyfit(np.arange(len(warm)), warm, 1)[0]) if len(warm) > 1 else 0.0
    )
    return {
        "first": times[0],
        "first10": float(warm[:k].mean()),
        "last10": float(warm[-k:].mean()),
        "ratio": float(warm[-k:].mean() / warm[:k].mean()),
        "slope_ms_per_fit": slope * 1e3,
        "rss_first_mb": rss[1] if len(rss) > 1 else rss[0],
        "rss_last_mb": rss[-1],
    }


def run(engine: str, fits: int, epochs: int) -> dict:
    cache = fresh_cache_dir()
    try:
        env = worker_env(SKROBUST_ENGINES[engine].backend, cache)
        return _run(engine, fits, epochs, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _run(engine, fits, epochs, env) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--fits",
        str(fits),
        "--epochs",
        str(epochs),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"repeated fits of {engine} failed:\n{proc.stderr[-3000:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument(
        "--engines",
        default="skrobust",
        help="comma-separated skrobust engines (skrobust, skrobust-kjax)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(_worker(args.fits, args.epochs)), flush=True)
        return 0
    for engine in args.engines.split(","):
        r = run(engine, args.fits, args.epochs)
        s = summarize(r["times"], r["rss"])
        print(
            f"{engine}: {args.fits} fits of {args.epochs} epochs; first (compiles) "
            f"{s['first']:.2f} s; warm fits 2-11 {s['first10']:.3f} s, last 10 "
            f"{s['last10']:.3f} s (ratio {s['ratio']:.2f}, slope "
            f"{s['slope_ms_per_fit']:+.2f} ms per fit); RSS {s['rss_first_mb']:.0f} "
            f"-> {s['rss_last_mb']:.0f} MB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
