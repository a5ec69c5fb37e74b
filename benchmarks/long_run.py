"""Many consecutive fits in one process: does memory or per-fit time grow?

A W1-shaped workload (``make_circles(100, noise=0.1)``, 30 training rows,
``Dense(500) -> GaussianNoise(0.1) -> ReLU -> Dense(1, sigmoid)``, Adam,
batch 32) with fewer epochs, refitted ``--fits`` times with a new seed each
time, as a hyperparameter search does. Prints the resident memory (psutil
RSS) after a warm-up and at the end, and per-fit times of the first and last
fits. ``--model`` also builds the Keras model (``model_``) after every fit and
``--predict`` predicts the test rows.

Usage::

    KERAS_BACKEND=jax python benchmarks/long_run.py --fits 200 --epochs 200
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import keras
import psutil
from sklearn.datasets import make_circles

from skrobust import NoisyMLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import use_fresh_program_cache  # noqa: E402


def run(
    fits: int, epochs: int, warmup: int, window: int, model: bool, predict: bool
) -> dict:
    X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    X_train, y_train, X_test = X[:30], y[:30], X[30:]
    proc = psutil.Process()
    times, rss = [], []
    for i in range(fits):
        est = NoisyMLPClassifier(
            (500,),
            noise_std=0.1,
            noise_position="pre_activation",
            epochs=epochs,
            random_state=i,
        )
        t0 = time.perf_counter()
        est.fit(X_train, y_train)
        if predict:
            est.predict(X_test)
        if model:
            est.model_  # noqa: B018 - builds the Keras model
        times.append(time.perf_counter() - t0)
        del est
        gc.collect()
        rss.append(proc.memory_info().rss / 2**20)
    w = min(window, max(1, (fits - warmup) // 2))
    first = times[warmup : warmup + w]
    last = times[-w:]
    return {
        "backend": keras.backend.backend(),
        "fits": fits,
        "epochs": epochs,
        "first_fit_s": times[0],
        "rss_after_warmup_mb": rss[warmup - 1],
        "rss_end_mb": rss[-1],
        "rss_growth_mb": rss[-1] - rss[warmup - 1],
        "rss_peak_mb": max(rss),
        "median_fit_s_first": statistics.median(first),
        "median_fit_s_last": statistics.median(last),
        "time_ratio_last_first": statistics.median(last) / statistics.median(first),
        "window": w,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="fits before the memory baseline (compiles, caches)",
    )
    parser.add_argument(
        "--window", type=int, default=20, help="fits in the first/last timing windows"
    )
    parser.add_argument(
        "--model",
        action="store_true",
        help="also build model_ (a keras.Model) after every fit",
    )
    parser.add_argument(
        "--predict",
        action="store_true",
        help="also predict the 70 test rows after every fit",
    )
    args = parser.parse_args()
    use_fresh_program_cache()
    out = run(
        args.fits, args.epochs, args.warmup, args.window, args.model, args.predict
    )
    print(f"backend {out['backend']}: {out['fits']} fits of {out['epochs']} epochs")
    print(f"first fit (compiles): {out['first_fit_s']:.2f} s")
    print(
        f"RSS after {args.warmup} warm-up fits: {out['rss_after_warmup_mb']:.0f} MB; "
        f"at the end: {out['rss_end_mb']:.0f} MB; growth "
        f"{out['rss_growth_mb']:+.1f} MB (peak {out['rss_peak_mb']:.0f} MB)"
    )
    print(
        f"median fit time, fits {args.warmup + 1}-{args.warmup + out['window']}: "
        f"{out['median_fit_s_first'] * 1000:.1f} ms; last {out['window']}: "
        f"{out['median_fit_s_last'] * 1000:.1f} ms "
        f"(ratio {out['time_ratio_last_first']:.2f})"
    )


if __name__ == "__main__":
    main()
