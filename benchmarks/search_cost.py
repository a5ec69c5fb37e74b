"""What a whole search costs: issue 18's search and issue 20's CV estimator
against scikit-learn's MLP search, each in a fresh process.

Data: ``make_classification(n_samples=3000, n_features=20, random_state=0)``,
scikit-learn's default 5-fold stratified CV, every search refitting its
choice, ``n_jobs=2``. Contenders:

- ``sklearn``: ``GridSearchCV(MLPClassifier(random_state=0))`` over ``alpha``
  (6 values, 1e-5 ... 1) x ``hidden_layer_sizes`` ((50,), (100,)): 12
  candidates;
- ``grid``: ``GridSearchCV(NoisyMLPClassifier(random_state=0))`` over
  ``alpha`` (the same 6) x ``noise_std`` (0, 0.1): 12 candidates, plain fits;
- ``batched``: ``BatchedGridSearchCV`` over the same grid;
- ``cv``: ``NoisyMLPClassifierCV(random_state=0)`` with its default search
  space (issue 20);
- ``sklearn-tuned``: issue 20's reference, ``GridSearchCV(MLPClassifier)``
  over ``alpha`` in {1e-4, 1e-3, 1e-2, 0.1, 1} with 3 folds.

Every contender runs in a fresh Python process with an empty program cache
(the first process ever: compilation included) and, with ``--warm``, once
more with the cache that run left. Printed: wall seconds, best score and
the ratios of issue 18 (``grid`` and ``batched`` against ``sklearn``: at most
0.5x and 0.33x) and issue 20 (``cv`` against ``sklearn-tuned``: at most 1x).

Run: ``python benchmarks/search_cost.py [--rows N] [--warm] [--contender NAME]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CONTENDERS = ("sklearn", "grid", "batched", "cv", "sklearn-tuned")
ALPHAS = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]


def run_one(name: str, rows: int, n_jobs: int) -> dict:
    """One search in this process: its wall time and best score."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV

    X, y = make_classification(n_samples=rows, n_features=20, random_state=0)
    start = time.perf_counter()
    if name in ("sklearn", "sklearn-tuned"):
        from sklearn.neural_network import MLPClassifier

        if name == "sklearn":
            grid = {"alpha": ALPHAS, "hidden_layer_sizes": [(50,), (100,)]}
            search = GridSearchCV(MLPClassifier(random_state=0), grid, n_jobs=n_jobs)
        else:
            grid = {"alpha": [1e-4, 1e-3, 1e-2, 0.1, 1.0]}
            search = GridSearchCV(
                MLPClassifier(random_state=0), grid, cv=3, n_jobs=n_jobs
            )
        search.fit(X, y)
        best = float(search.best_score_)
    elif name in ("grid", "batched"):
        from skrobust import NoisyMLPClassifier
        from skrobust.model_selection import BatchedGridSearchCV

        grid = {"alpha": ALPHAS, "noise_std": [0.0, 0.1]}
        cls = GridSearchCV if name == "grid" else BatchedGridSearchCV
        search = cls(NoisyMLPClassifier(random_state=0), grid, n_jobs=n_jobs)
        search.fit(X, y)
        best = float(search.best_score_)
    else:
        from skrobust import NoisyMLPClassifierCV

        search = NoisyMLPClassifierCV(random_state=0, n_jobs=n_jobs).fit(X, y)
        best = float(search.best_score_)
    return {"seconds": time.perf_counter() - start, "best_score": best}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--warm", action="store_true", help="also a warm-cache run")
    parser.add_argument("--contender", action="append", choices=CONTENDERS)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, rows, n_jobs = args.worker
        print(json.dumps(run_one(name, int(rows), int(n_jobs))))
        return 0
    names = args.contender or list(CONTENDERS)
    rows = {}
    for name in names:
        with tempfile.TemporaryDirectory(prefix="skrobust-search-cost-") as cache:
            env = dict(os.environ, SKROBUST_CACHE_DIR=cache)
            for kind in ("cold", "warm") if args.warm else ("cold",):
                cmd = [sys.executable, __file__, "--worker", name]
                cmd += [str(args.rows), str(args.n_jobs)]
                out = subprocess.run(
                    cmd, env=env, capture_output=True, text=True, check=False
                )
                if out.returncode != 0:
                    print(out.stderr[-3000:], file=sys.stderr)
                    return 1
                rows[name, kind] = json.loads(out.stdout.strip().splitlines()[-1])
                r = rows[name, kind]
                print(
                    f"  {name:14s} {kind}: {r['seconds']:7.1f} s, best {r['best_score']:.4f}"
                )
    print("\n| search | cache | wall (s) | best score |\n|---|---|---|---|")
    for (name, kind), r in rows.items():
        print(f"| {name} | {kind} | {r['seconds']:.1f} | {r['best_score']:.4f} |")

    def ratio(a, b, kind="cold"):
        if (a, kind) in rows and (b, kind) in rows:
            return rows[a, kind]["seconds"] / rows[b, kind]["seconds"]
        return None

    print("\nTargets (ratios of wall times in this run):")
    for a, b, limit, issue in (
        ("grid", "sklearn", 0.5, 18),
        ("batched", "sklearn", 0.33, 18),
        ("cv", "sklearn-tuned", 1.0, 20),
    ):
        for kind in ("cold", "warm"):
            r = ratio(a, b, kind)
            if r is not None:
                verdict = "met" if r <= limit else "not met"
                print(
                    f"- {a} / {b} ({kind}) <= {limit}x (issue {issue}): {r:.2f}x, {verdict}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
