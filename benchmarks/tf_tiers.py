"""Which tier of the TensorFlow engine wins where (issue 11).

Usage::

    python benchmarks/tf_tiers.py            # every shape, both tiers, and JAX
    python benchmarks/tf_tiers.py --shape W3

For each network shape of the benchmark workloads and tables, one fresh
process per engine (TensorFlow forced into its graph tier, TensorFlow forced
into its XLA tier, JAX) fits once to compile (timed: "first"), then times a
second fit and reports milliseconds per mini-batch step. The shapes take
their layer sizes, batch size and row counts from ``run.py``'s workloads and
``tables.py``'s tables; epochs are cut so that each fit takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SHAPES = {
    # name: (train rows, features, hidden, batch, epochs, extra parameters)
    "W1": (30, 2, (500,), 32, 2000, {"noise_std": 0.1}),
    "W2": (
        500,
        2,
        (50,),
        32,
        100,
        {
            "batchnorm": "after",
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "momentum": 0.9,
        },
    ),
    "W3": (1347, 64, (128, 64), 32, 10, {"noise_std": 0.1, "noise_position": "input"}),
    "W4": (40_000, 100, (256, 256), 512, 2, {"dropout": 0.2}),
    "table-800": (800, 20, (100,), 32, 100, {"noise_std": 0.1}),
    "table-8k": (8_000, 20, (100,), 32, 10, {"noise_std": 0.1}),
    "table-40k": (40_000, 20, (100,), 32, 2, {"noise_std": 0.1}),
    "wide-8k": (8_000, 200, (100,), 32, 10, {"noise_std": 0.1}),
    # Between W3 and W4, to place the tier boundary.
    "W4-batch32": (8_000, 100, (256, 256), 32, 2, {"dropout": 0.2}),
    "W4-batch128": (16_000, 100, (256, 256), 128, 2, {"dropout": 0.2}),
}
ENGINES = {
    "tf-graph": ("tensorflow", "0"),
    "tf-xla": ("tensorflow", "1"),
    "jax": ("jax", None),
}


def run_case(shape: str) -> dict:
    import numpy as np

    from skrobust import NoisyMLPClassifier

    rows, features, hidden, bs, epochs, extra = SHAPES[shape]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, features)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    times = []
    for seed in (0, 1):
        est = NoisyMLPClassifier(
            hidden, batch_size=bs, epochs=epochs, random_state=seed, **extra
        )
        t = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t)
    steps = epochs * -(-rows // min(bs, rows))
    return {
        "first": times[0],
        "second": times[1],
        "ms_per_step": 1000 * times[1] / steps,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", action="append", choices=list(SHAPES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(run_case(args.worker)), flush=True)
        return 0
    print(
        "| shape | engine | first fit (s) | second fit (s) | ms / step | step vs JAX |"
    )
    print("|---|---|---|---|---|---|")
    for shape in args.shape or list(SHAPES):
        res = {}
        for engine, (backend, tier) in ENGINES.items():
            env = dict(
                os.environ,
                TF_CPP_MIN_LOG_LEVEL="3",
                KERAS_BACKEND=backend,
                PYTHONWARNINGS="ignore",
            )
            env.pop("SKROBUST_TF_XLA", None)
            if tier is not None:
                env["SKROBUST_TF_XLA"] = tier
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worker", shape],
                env=env,
                capture_output=True,
                text=True,
            )
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode or not line:
                raise RuntimeError(proc.stderr[-3000:])
            res[engine] = json.loads(line[0][7:])
        for engine, r in res.items():
            rel = r["ms_per_step"] / res["jax"]["ms_per_step"]
            print(
                f"| {shape} | {engine} | {r['first']:.2f} | {r['second']:.3f} "
                f"| {r['ms_per_step']:.4f} | {rel:.2f}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
