"""First fit and median warm fit of W1 to W3 and a 1k-row table, in one process.

``run.py`` times one second fit per fresh process: at 50 ms (W2, W3 on JAX)
that single figure moves by 2x with a shared machine's load. This script
fits each workload once (trace and compile included) and then several more
times with other seeds, and prints the median warm fit, wall and process CPU
time, as one JSON line. skrobust's program cache starts in a fresh empty
folder (unless ``SKROBUST_CACHE_DIR`` or ``SKROBUST_PROGRAM_CACHE`` is set),
so each first fit compiles. Run it for two source trees side by side to
compare them (docs/benchmarks.md, "One training loop")::

    git worktree add /tmp/sk-old <commit>
    PYTHONPATH=/tmp/sk-old python benchmarks/warm_fits.py
    python benchmarks/warm_fits.py

(``KERAS_BACKEND=jax`` in front of both has Keras on JAX too.)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import use_fresh_program_cache  # noqa: E402
from workloads import WORKLOADS, load  # noqa: E402

REPEATS = {"W1": 5, "W2": 15, "W3": 15, "1k": 3}


def _data(name):
    if name == "1k":
        import numpy as np
        from sklearn.datasets import make_classification

        X, y = make_classification(1000, 20, random_state=0)
        return X.astype(np.float32), y, {"noise_std": 0.1}
    w = WORKLOADS[name]
    Xtr, ytr, _, _ = load(w)
    return Xtr, ytr, w.skrobust_params()


def main():
    use_fresh_program_cache()
    import keras

    import skrobust
    from skrobust import NoisyMLPClassifier

    warnings.simplefilter("ignore")
    out = {"skrobust": skrobust.__file__, "keras_backend": keras.backend.backend()}
    for name, repeats in REPEATS.items():
        X, y, params = _data(name)
        wall, cpu = [], []
        for seed in range(repeats + 1):
            est = NoisyMLPClassifier(**params, random_state=seed)
            t, c = time.perf_counter(), time.process_time()
            est.fit(X, y)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out[name] = {
            "first": round(wall[0], 4),
            "warm": round(statistics.median(wall[1:]), 4),
            "warm_cpu": round(statistics.median(cpu[1:]), 4),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
