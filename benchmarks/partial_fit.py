"""partial_fit over chunks against one fit of the same epochs (issue 19).

The issue's target: ``partial_fit`` over 10 chunks of a 50,000-row table
reaches the test accuracy of one ``fit`` of the same number of epochs within
0.01. Both train the default network with the convergence stop off
(``tol=None``): ``fit(epochs=E)`` on the 40,000 training rows, against E
passes over the same rows cut into 10 chunks of 4,000, one ``partial_fit``
call per chunk (the chunks in the same order every pass; rows are shuffled
within a chunk only). With ``batch_size="auto"`` both take 200-row steps, so
they take the same number of optimizer steps.

Usage: ``python benchmarks/partial_fit.py [--epochs E] [--seeds N]``.
Prints one line per seed (both accuracies, the difference, the seconds of
each, compile included) and the mean difference.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()

    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from skrobust import NoisyMLPClassifier

    warnings.simplefilter("ignore")
    X, y = make_classification(50_000, 20, n_informative=10, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    chunks = np.array_split(np.arange(len(X_tr)), args.chunks)
    classes = np.unique(y_tr)

    diffs = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        fit = NoisyMLPClassifier(epochs=args.epochs, tol=None, random_state=seed)
        fit.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - start
        acc_fit = fit.score(X_te, y_te)

        start = time.perf_counter()
        inc = NoisyMLPClassifier(random_state=seed)
        for _ in range(args.epochs):
            for rows in chunks:
                inc.partial_fit(X_tr[rows], y_tr[rows], classes=classes)
        inc_s = time.perf_counter() - start
        acc_inc = inc.score(X_te, y_te)
        assert inc.t_ == fit.t_ == args.epochs * len(X_tr)

        diffs.append(acc_inc - acc_fit)
        print(
            f"seed {seed}: fit({args.epochs} epochs) accuracy {acc_fit:.4f} "
            f"({fit_s:.1f} s); partial_fit {args.epochs} x {args.chunks} chunks "
            f"accuracy {acc_inc:.4f} ({inc_s:.1f} s); "
            f"difference {acc_inc - acc_fit:+.4f}",
            flush=True,
        )
    print(
        f"mean difference (partial_fit - fit) over {args.seeds} seed(s): "
        f"{np.mean(diffs):+.4f}; largest |difference| {np.max(np.abs(diffs)):.4f} "
        f"(target: within 0.01)"
    )


if __name__ == "__main__":
    main()
