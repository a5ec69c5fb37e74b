"""Is W1's test accuracy unchanged by skrobust's compiled training? (issue 3)

Trains W1 (circles, 30 training rows, Dense(500) -> GaussianNoise(0.1) ->
ReLU -> Dense(1, sigmoid), Adam, batch 32) once per seed with skrobust and with
the tutorial's ``keras.Model.fit``, same hyperparameters, and compares the two
samples of test accuracies:

* Welch's t-test and the Mann-Whitney U test (H0: same mean / distribution);
  a small p-value would mean the engines differ;
* a two one-sided t-tests (TOST) equivalence test with margin ``--margin``
  (H0: the means differ by at least the margin); a small p-value means the
  engines are equivalent within the margin.

Usage::

    python benchmarks/accuracy_equivalence.py                 # 10 seeds, 1000 epochs
    python benchmarks/accuracy_equivalence.py --epochs 4000   # the tutorials' length

Each side runs in its own process (the Keras backend is fixed at import):
skrobust as each engine of ``--skrobust-engines`` (``harness.py``; default
``skrobust``, the default install; ``skrobust-kjax`` trains the same way in
JAX with Keras on JAX), Keras ``Model.fit`` on ``--keras-backend`` (JAX by
default: the same model, several times faster per epoch than on
TensorFlow).
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
from workloads import WORKLOADS, keras_model, load  # noqa: E402


def _accuracies(side: str, seeds, epochs) -> list[float]:
    w = WORKLOADS["W1"]
    Xtr, ytr, Xte, yte = load(w)
    out = []
    for seed in seeds:
        if side == "skrobust":
            from skrobust import NoisyMLPClassifier

            est = NoisyMLPClassifier(**w.skrobust_params(epochs), random_state=seed)
            out.append(float(est.fit(Xtr, ytr).score(Xte, yte)))
        else:
            model = keras_model(w, Xtr.shape[1], 2, seed)
            model.fit(Xtr, ytr, epochs=epochs, batch_size=w.batch_size, verbose=0)
            out.append(float(model.evaluate(Xte, yte, verbose=0)[1]))
    return out


def collect(side: str, backend: str | None, seeds, epochs) -> list[float]:
    """Test accuracies of one side, trained in a fresh process with
    ``KERAS_BACKEND=backend`` (unset for None) and an empty program cache."""
    cache = fresh_cache_dir()
    try:
        return _collect(side, backend, seeds, epochs, worker_env(backend, cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _collect(side, backend, seeds, epochs, env) -> list[float]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        side,
        "--epochs",
        str(epochs),
        "--seeds",
        ",".join(map(str, seeds)),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{side} on {backend} failed:\n{proc.stderr[-3000:]}")


def compare(a, b, margin: float) -> dict:
    """Welch, Mann-Whitney and TOST statistics for samples ``a`` and ``b``."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = a.mean() - b.mean()
    welch = stats.ttest_ind(a, b, equal_var=False)
    if np.ptp(np.concatenate([a, b])) == 0:
        mwu_p = 1.0
    else:
        mwu_p = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    # TOST with Welch's standard error and degrees of freedom.
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        tost_p = 0.0 if abs(diff) < margin else 1.0
    else:
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        p_low = stats.t.sf((diff + margin) / se, df)
        p_high = stats.t.cdf((diff - margin) / se, df)
        tost_p = float(max(p_low, p_high))
    return {
        "mean_a": float(a.mean()),
        "std_a": float(a.std(ddof=1)),
        "mean_b": float(b.mean()),
        "std_b": float(b.std(ddof=1)),
        "diff": float(diff),
        "welch_p": float(welch.pvalue) if np.isfinite(welch.pvalue) else 1.0,
        "mannwhitney_p": mwu_p,
        "tost_p": tost_p,
        "margin": margin,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument(
        "--margin",
        type=float,
        default=0.05,
        help="equivalence margin on the mean test accuracy",
    )
    parser.add_argument(
        "--skrobust-engines",
        default="skrobust",
        help="comma-separated skrobust engines (skrobust, skrobust-kjax)",
    )
    parser.add_argument("--keras-backend", default="jax")
    parser.add_argument(
        "--worker", choices=("skrobust", "keras"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.worker:
        print(
            "RESULT " + json.dumps(_accuracies(args.worker, seeds, args.epochs)),
            flush=True,
        )
        return 0
    t = time.perf_counter()
    keras_acc = collect("keras", args.keras_backend, seeds, args.epochs)
    print(
        f"Keras Model.fit ({args.keras_backend}), {args.epochs} epochs, "
        f"seeds {args.seeds}: {np.round(keras_acc, 3).tolist()} "
        f"({time.perf_counter() - t:.0f} s)",
        flush=True,
    )
    for engine in args.skrobust_engines.split(","):
        t = time.perf_counter()
        acc = collect("skrobust", SKROBUST_ENGINES[engine].backend, seeds, args.epochs)
        print(
            f"{engine}: {np.round(acc, 3).tolist()} ({time.perf_counter() - t:.0f} s)",
            flush=True,
        )
        r = compare(acc, keras_acc, args.margin)
        print(
            f"  skrobust {r['mean_a']:.3f} +- {r['std_a']:.3f} vs Keras "
            f"{r['mean_b']:.3f} +- {r['std_b']:.3f}: difference {r['diff']:+.3f}; "
            f"Welch p = {r['welch_p']:.3f}, Mann-Whitney p = "
            f"{r['mannwhitney_p']:.3f}, TOST (margin {args.margin}) p = "
            f"{r['tost_p']:.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
