"""What each kind of training noise costs (issue 7).

Fits the W1 network (circles, 30 training rows, 500 hidden ReLU units, Adam,
batch 32, 4000 epochs) once per noise kind of issue 7, in one fresh process
per skrobust engine of ``--engines`` (``harness.py``: by default ``skrobust``,
the default install; ``skrobust-kjax`` has Keras on JAX), its program cache
empty: the first fit (which compiles that kind's program) and the best of
``--repeats`` warm fits. Prints each kind's warm time and its ratio to the
same network without noise and to W1 (additive hidden noise 0.1, the
tutorials' setting).

Usage::

    python benchmarks/noise_kinds_cost.py                 # skrobust, 4000 epochs
    python benchmarks/noise_kinds_cost.py --engines skrobust,skrobust-kjax --epochs 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import SKROBUST_ENGINES, fresh_cache_dir, worker_env  # noqa: E402
from workloads import WORKLOADS, load  # noqa: E402

KINDS = {
    "no noise": {},
    "hidden additive 0.1 (W1)": {"noise_std": 0.1},
    "hidden multiplicative 0.1": {"noise_std": 0.1, "noise_type": "multiplicative"},
    "input 0.1, feature-scaled": {
        "noise_std": 0.1,
        "noise_position": "input",
        "noise_scale": "feature",
    },
    "weight noise 0.01": {"weight_noise_std": 0.01},
    "gradient noise eta 0.01": {"gradient_noise_eta": 0.01},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "label flipping 0.1": {"label_flip_rate": 0.1},
}


def _worker(epochs: int, repeats: int) -> dict:
    from skrobust import NoisyMLPClassifier

    w = WORKLOADS["W1-nonoise"]
    Xtr, ytr, _, _ = load(w)
    out = {}
    for name, params in KINDS.items():
        times = []
        for r in range(1 + repeats):
            est = NoisyMLPClassifier(
                **{**w.skrobust_params(epochs), **params}, random_state=r
            )
            t = time.perf_counter()
            est.fit(Xtr, ytr)
            times.append(time.perf_counter() - t)
        out[name] = {"first": times[0], "warm": min(times[1:])}
    return out


def run(engine: str, epochs: int, repeats: int) -> dict:
    cache = fresh_cache_dir()
    try:
        env = worker_env(SKROBUST_ENGINES[engine].backend, cache)
        return _run(engine, epochs, repeats, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _run(engine, epochs, repeats, env) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--epochs",
        str(epochs),
        "--repeats",
        str(repeats),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"the {engine} worker failed:\n{proc.stderr[-3000:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=2, help="warm fits per kind")
    parser.add_argument(
        "--engines",
        default="skrobust",
        help="comma-separated skrobust engines (skrobust, skrobust-kjax)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(_worker(args.epochs, args.repeats)), flush=True)
        return 0
    print(f"W1 network, {args.epochs} epochs; best of {args.repeats} warm fits")
    print(
        "| engine | kind | first fit (s) | warm fit (s) | / no noise | / W1 |\n"
        "|---|---|---|---|---|---|"
    )
    for engine in args.engines.split(","):
        res = run(engine, args.epochs, args.repeats)
        base = res["no noise"]["warm"]
        w1 = res["hidden additive 0.1 (W1)"]["warm"]
        for name, r in res.items():
            print(
                f"| {engine} | {name} | {r['first']:.2f} | {r['warm']:.3f} | "
                f"{r['warm'] / base:.2f}x | {r['warm'] / w1:.2f}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
