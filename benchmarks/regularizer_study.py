"""Which regularizer helps on which table? The study of issue 14.

On real tables that ship inside Python packages (nothing is downloaded), every
contender is evaluated on the *same* outer splits of a repeated
cross-validation, and each is compared with the tuned combination of
regularizers by the Nadeau-Bengio corrected resampled t-test
(:func:`skrobust.model_selection.compare_candidates`).

Tables (rows capped at ``--max-rows``, a stratified or plain random sample):

* ``breast_cancer``, ``wine``, ``digits`` (scikit-learn, classification);
* ``diabetes`` (scikit-learn, regression);
* ``penguins`` (palmerpenguins: body mass from species, island, sex and
  measurements; regression, mixed types);
* ``fair`` (statsmodels: whether a woman reported an affair, from marriage,
  religion, education and two occupation codes one-hot encoded;
  classification, mixed types);
* ``anes96`` (statsmodels: 1996 vote from party identification, left-right
  placements, education and income codes one-hot encoded; classification,
  mixed types);
* ``grunfeld`` (statsmodels: log investment of 11 firms from firm value,
  capital, firm and year; regression, mixed types).

A table whose package is not installed is skipped with a note
(``pip install -e ".[study]"``: statsmodels and palmerpenguins).

Every model is ``Pipeline(make_tabular_preprocessor(X), model)`` (median
imputation and scaling of numbers, one-hot categories). Regression targets
are standardized once on all rows (R^2 is unchanged by an affine map of the
target, and the networks' fixed-size steps want a unit-scale target; only
its mean and std are shared across folds). Scores: accuracy and R^2.

Contenders (the skrobust ones share one network: ``hidden_layer_sizes=(64,)``,
Adam, ``epochs`` and batch 32, ``random_state=0``, so that only the
regularization differs):

* ``base``: no regularization, no tuning;
* ``noise``: ``noise_std`` in {0, 0.1, 0.3} (pre-activation noise, the
  default position);
* ``weight decay``: ``alpha`` in {0, 1e-3, 1e-2, 0.1, 1} (scikit-learn's L2
  meaning; ``weight_decay`` in {0, 1e-4, 1e-3, 1e-2} where the estimator has
  no ``alpha``);
* ``dropout``: ``dropout`` in {0, 0.1, 0.3};
* ``combination``: noise x dropout x ``alpha`` in {0, 0.1, 1} jointly, 27
  candidates (every grid includes 0, so a tuned contender can always fall
  back to ``base``); the reference every other contender is compared with;
* ``ensemble``: the combination's chosen parameters with ``n_members=8``;
* ``sklearn MLP``: ``MLPClassifier``/``MLPRegressor`` (64 units, its defaults
  otherwise: Adam, batch 200, up to 200 epochs with its own stop on a flat
  training loss) with ``alpha`` in {1e-4, 1e-3, 1e-2, 0.1, 1};
* ``HGB``: ``HistGradientBoosting*`` with its defaults.

scikit-learn's models run single-threaded (``OMP_NUM_THREADS=1``): on a
shared machine HistGradientBoosting's OpenMP threads otherwise spin against
the other jobs. The seconds printed are not a speed comparison.

A contender that needs a parameter the installed estimator lacks (``alpha``,
``weight_decay``, ``n_members`` arrive with issue 14) is skipped with a note.

Tuning is nested: in each outer training set an inner stratified (plain for
regression) K-fold picks the contender's parameters by mean inner score; the
chosen parameters are refitted on the outer training set and scored on the
outer test set. For the skrobust contenders, all outer splits' inner folds
train as one :class:`~skrobust.model_selection.BatchedGridSearchCV` run (its
``cv`` is the list of every (outer split, inner fold) pair), and the refits of
the chosen parameters on the outer splits as a second one.

Usage::

    python benchmarks/regularizer_study.py --quick
    python benchmarks/regularizer_study.py --out results.md
    python benchmarks/regularizer_study.py --tables wine fair

Training is in JAX whatever the Keras backend; the script sets
``KERAS_BACKEND=jax`` unless it is set already, so that TensorFlow is never
imported (the scores do not depend on it).

The full run is 5-fold x 2 repeats outer, 3-fold inner, 100 epochs, tables
capped at 1,000 rows; ``--quick`` is 3-fold x 1 repeat outer, 2-fold inner,
20 epochs, two values per grid, 300 rows.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
import warnings
from collections import Counter

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# scikit-learn's models single-threaded: on a shared machine, OpenMP threads
# of HistGradientBoosting spin against the other jobs (10x slower measured).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from skrobust import (  # noqa: E402
    NoisyMLPClassifier,
    NoisyMLPRegressor,
    make_tabular_preprocessor,
)
from skrobust.model_selection import (  # noqa: E402
    BatchedGridSearchCV,
    compare_candidates,
)

REFERENCE = "combination"


# -- tables -------------------------------------------------------------------


def _sklearn(loader, task, **kw):
    def load():
        X, y = loader(return_X_y=True, as_frame=True, **kw)
        return X, y.to_numpy()

    return load, task, "scikit-learn"


def _penguins():
    import palmerpenguins

    df = palmerpenguins.load_penguins().dropna(subset=["body_mass_g"])
    return df.drop(columns="body_mass_g"), df["body_mass_g"].to_numpy(float)


def _statsmodels(name):
    import importlib

    return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data


def _codes_as_text(df, columns):
    df = df.copy()
    for c in columns:
        df[c] = df[c].astype(int).astype(str)
    return df


def _fair():
    df = _statsmodels("fair")
    y = (df.pop("affairs") > 0).astype(int).to_numpy()
    return _codes_as_text(df, ["occupation", "occupation_husb"]), y


def _anes96():
    df = _statsmodels("anes96").drop(columns="popul")
    y = df.pop("vote").astype(int).to_numpy()
    return _codes_as_text(df, ["PID", "educ", "income"]), y


def _grunfeld():
    df = _statsmodels("grunfeld")
    y = np.log(df.pop("invest").to_numpy(float))
    df["firm"] = df["firm"].astype(object)
    return df, y


TABLES = {
    "breast_cancer": _sklearn(datasets.load_breast_cancer, "classification"),
    "wine": _sklearn(datasets.load_wine, "classification"),
    "diabetes": _sklearn(datasets.load_diabetes, "regression", scaled=False),
    "penguins": (_penguins, "regression", "palmerpenguins"),
    "grunfeld": (_grunfeld, "regression", "statsmodels"),
    "anes96": (_anes96, "classification", "statsmodels"),
    "fair": (_fair, "classification", "statsmodels"),
    "digits": _sklearn(datasets.load_digits, "classification"),
}


def load_table(name, max_rows, seed=0, tables=None):
    """``(X, y, task)`` of table ``name`` in ``tables`` (default
    :data:`TABLES`), at most ``max_rows`` rows."""
    loader, task, _ = (TABLES if tables is None else tables)[name]
    X, y = loader()
    X = X.reset_index(drop=True)
    if len(X) > max_rows:
        rng = np.random.default_rng(seed)
        if task == "classification":
            # A stratified sample: the same share of each class.
            keep = np.concatenate(
                [
                    rng.choice(
                        idx,
                        max(1, round(len(idx) * max_rows / len(X))),
                        replace=False,
                    )
                    for idx in (np.flatnonzero(y == c) for c in np.unique(y))
                ]
            )
        else:
            keep = rng.choice(len(X), max_rows, replace=False)
        keep.sort()
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    if task == "regression":
        y = (y - y.mean()) / y.std()
    return X, y, task


# -- contenders ---------------------------------------------------------------


def skrobust_params(task):
    est = NoisyMLPClassifier if task == "classification" else NoisyMLPRegressor
    return set(inspect.signature(est).parameters)


def contenders(task, quick, epochs):
    """``{name: (estimator, grid or None, needs)}``; ``needs`` are skrobust
    parameters the contender cannot run without."""
    has = skrobust_params(task)
    mlp = NoisyMLPClassifier if task == "classification" else NoisyMLPRegressor
    base = mlp((64,), epochs=epochs, random_state=0)
    noise = [0.0, 0.3] if quick else [0.0, 0.1, 0.3]
    drop = [0.0, 0.3] if quick else [0.0, 0.1, 0.3]
    if "alpha" in has:
        # scikit-learn's meaning, so the grid is the scikit-learn MLP's.
        decay_name = "alpha"
        decay = [0.0, 1.0] if quick else [0.0, 1e-3, 1e-2, 1e-1, 1.0]
        combo_decay = decay if quick else [0.0, 1e-1, 1.0]
    elif "weight_decay" in has:
        decay_name = "weight_decay"
        decay = [0.0, 1e-3] if quick else [0.0, 1e-4, 1e-3, 1e-2]
        combo_decay = decay if quick else [0.0, 1e-3, 1e-2]
    else:
        decay_name, decay = "alpha", [0.0]  # skipped: no such parameter yet
    combo = {"noise_std": noise, "dropout": drop}
    if decay_name in has:
        combo[decay_name] = combo_decay
    out = {
        "base": (base, None, ()),
        "noise": (base, {"noise_std": noise}, ()),
        "weight decay": (base, {decay_name: decay}, (decay_name,)),
        "dropout": (base, {"dropout": drop}, ()),
        REFERENCE: (base, combo, ()),
        "ensemble": (base, "ensemble", ("n_members",)),
    }
    sk_mlp = (MLPClassifier if task == "classification" else MLPRegressor)(
        hidden_layer_sizes=(64,), random_state=0
    )
    sk_alpha = [1e-4, 1.0] if quick else [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    out["sklearn MLP"] = (sk_mlp, {"alpha": sk_alpha}, ())
    hgb = (
        HistGradientBoostingClassifier
        if task == "classification"
        else HistGradientBoostingRegressor
    )(random_state=0)
    out["HGB"] = (hgb, None, ())
    return out, has


def pipeline(X, model, numeric_encoding="standard"):
    # Dense for every model (HistGradientBoosting takes no sparse input).
    prep = make_tabular_preprocessor(X, numeric_encoding=numeric_encoding)
    prep.set_params(sparse_threshold=0)
    return Pipeline([("prep", prep), ("model", clone(model))])


def prefixed(grid):
    return {f"model__{k}": v for k, v in grid.items()}


def search_class(model):
    return (
        BatchedGridSearchCV
        if isinstance(model, NoisyMLPClassifier | NoisyMLPRegressor)
        else GridSearchCV
    )


def outer_scores(X, y, model, candidates, chosen, outer, scoring):
    """Test score on each outer split of the candidate chosen for it."""
    distinct = sorted(set(chosen))
    grid = [{k: [v] for k, v in candidates[c].items()} for c in distinct]
    search = search_class(model)(
        pipeline(X, model), grid or [{}], cv=outer, scoring=scoring, refit=False
    ).fit(X, y)
    res = search.cv_results_
    row = {c: i for i, c in enumerate(distinct)}
    return np.array([res[f"split{o}_test_score"][row[c]] for o, c in enumerate(chosen)])


def nested(X, y, model, grid, outer, inner_pairs, owner, scoring):
    """Nested CV: pick by the inner folds of each outer split, score on it.

    Returns the outer test scores and the parameters chosen per split."""
    if grid is None:
        search = search_class(model)(
            pipeline(X, model), [{}], cv=outer, scoring=scoring, refit=False
        ).fit(X, y)
        res = search.cv_results_
        return np.array([res[f"split{o}_test_score"][0] for o in range(len(outer))]), [
            {}
        ] * len(outer)
    search = search_class(model)(
        pipeline(X, model),
        prefixed(grid),
        cv=inner_pairs,
        scoring=scoring,
        refit=False,
    ).fit(X, y)
    res = search.cv_results_
    inner = np.column_stack(
        [res[f"split{s}_test_score"] for s in range(len(inner_pairs))]
    )
    chosen = []
    for o in range(len(outer)):
        mean = np.nanmean(inner[:, owner == o], axis=1)
        chosen.append(int(np.nanargmax(mean)))
    scores = outer_scores(X, y, model, res["params"], chosen, outer, scoring)
    return scores, [res["params"][c] for c in chosen]


def ensemble(X, y, model, combo_params, outer, scoring):
    """The combination's chosen parameters with ``n_members=8``, one fit per
    outer split."""
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    scores = []
    for (train, test), params in zip(outer, combo_params, strict=True):
        est = pipeline(X, model).set_params(**params, model__n_members=8)
        est.fit(X.iloc[train], y[train])
        scores.append(scorer(est, X.iloc[test], y[test]))
    return np.array(scores), combo_params


# -- study --------------------------------------------------------------------


def splits(X, y, task, quick, seed=0):
    k, repeats, k_inner = (3, 1, 2) if quick else (5, 2, 3)
    if task == "classification":
        outer_cv = RepeatedStratifiedKFold(
            n_splits=k, n_repeats=repeats, random_state=seed
        )
    else:
        outer_cv = RepeatedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
    outer = list(outer_cv.split(X, y))
    pairs, owner = [], []
    for o, (train, _) in enumerate(outer):
        inner_cv = (StratifiedKFold if task == "classification" else KFold)(
            n_splits=k_inner, shuffle=True, random_state=seed + o
        )
        for a, b in inner_cv.split(train, y[train]):
            pairs.append((train[a], train[b]))
            owner.append(o)
    return outer, pairs, np.array(owner)


def describe(params_list):
    """The most frequent chosen parameters and how often."""
    if not params_list or not params_list[0]:
        return ""
    counts = Counter(
        tuple(sorted((k.removeprefix("model__"), v) for k, v in p.items()))
        for p in params_list
    )
    best, n = counts.most_common(1)[0]
    text = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in best
    )
    return f"{text} ({n}/{len(params_list)})"


def run_table(name, args):
    X, y, task = load_table(name, args.max_rows)
    scoring = "accuracy" if task == "classification" else "r2"
    outer, pairs, owner = splits(X, y, task, args.quick)
    todo, has = contenders(task, args.quick, args.epochs)
    scores, chosen, seconds = {}, {}, {}
    for cname, (model, grid, needs) in todo.items():
        missing = [n for n in needs if n not in has]
        if missing:
            print(
                f"  [{name}] {cname}: skipped, the installed estimator has no "
                f"{', '.join(missing)}",
                flush=True,
            )
            continue
        if args.contenders and cname not in args.contenders and cname != REFERENCE:
            continue
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if grid == "ensemble":
                    s, p = ensemble(X, y, model, chosen[REFERENCE], outer, scoring)
                else:
                    s, p = nested(X, y, model, grid, outer, pairs, owner, scoring)
        except Exception as exc:  # one contender's failure spares the others
            print(f"  [{name}] {cname}: FAILED, {type(exc).__name__}: {exc}")
            continue
        seconds[cname] = time.perf_counter() - start
        scores[cname], chosen[cname] = s, p
        print(
            f"  [{name}] {cname}: {np.mean(s):.4f} +- {np.std(s):.4f} "
            f"({seconds[cname]:.0f} s) {describe(p)}",
            flush=True,
        )
    names = list(scores)
    cv_results = {"params": [{"contender": n} for n in names]}
    for o in range(len(outer)):
        cv_results[f"split{o}_test_score"] = np.array([scores[n][o] for n in names])
    ratio = float(np.mean([len(te) / len(tr) for tr, te in outer]))
    table = compare_candidates(
        cv_results, baseline=names.index(REFERENCE), test_train_ratio=ratio
    )
    table.index = [names[i] for i in table.index]
    table["chosen"] = [describe(chosen[n]) for n in table.index]
    table["seconds"] = [seconds[n] for n in table.index]
    return {
        "name": name,
        "task": task,
        "scoring": scoring,
        "shape": X.shape,
        "n_splits": len(outer),
        "table": table,
        "order": names,
    }


def markdown(result, reference=REFERENCE, seconds=(("s", "seconds", ".0f"),)):
    """One table's contenders as a markdown table; ``seconds``: the time
    columns, as (header, column of ``result["table"]``, format)."""
    t = result["table"]
    n, p = result["shape"]
    heads = " | ".join(h for h, _, _ in seconds)
    lines = [
        f"**{result['name']}** ({result['task']}, {n} rows x {p} columns, "
        f"{result['scoring']}, {result['n_splits']} outer splits; differences "
        f"are contender - {reference})",
        "",
        f"| contender | mean score | difference | 95% CI | p | verdict | "
        f"chosen (most often) | {heads} |",
        "| --- | --- | --- | --- | --- | --- | --- |" + " --- |" * len(seconds),
    ]
    for name, row in t.iterrows():
        if row["verdict"] == "baseline":
            diff, ci, pv = "", "", ""
        else:
            diff = f"{row['difference']:+.4f}"
            ci = f"[{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"
            pv = f"{row['p_value']:.3f}"
        times = " | ".join(format(row[col], fmt) for _, col, fmt in seconds)
        lines.append(
            f"| {name} | {row['mean_test']:.4f} | {diff} | {ci} | {pv} | "
            f"{row['verdict']} | {row['chosen']} | {times} |"
        )
    return "\n".join(lines)


def summary(results):
    cols = []
    for r in results:
        for c in r["order"]:
            if c not in cols:
                cols.append(c)
    lines = [
        "| table | " + " | ".join(cols) + " |",
        "| --- |" + " --- |" * len(cols),
    ]
    marks = {"better": " ▲", "worse": " ▼", "within noise": "", "baseline": ""}
    for r in results:
        t = r["table"]
        cells = []
        for c in cols:
            if c not in t.index:
                cells.append("-")
                continue
            cells.append(
                f"{t.loc[c, 'mean_test']:.3f}{marks.get(t.loc[c, 'verdict'], '?')}"
            )
        lines.append(f"| {r['name']} ({r['scoring']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="minutes, not hours")
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=None)
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=None,
        help="run only these (the combination always runs: it is the reference)",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--out", default=None, help="also write the markdown here")
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (20 if args.quick else 100)
    args.max_rows = args.max_rows or (300 if args.quick else 1000)

    import keras

    start = time.perf_counter()
    print(
        f"backend {keras.backend.backend()}, epochs {args.epochs}, max rows "
        f"{args.max_rows}, {'quick' if args.quick else 'full'}",
        flush=True,
    )
    results = []

    def report(done):
        text = [
            "Mean outer test score per contender; ▲/▼: better/worse than the "
            f"tuned {REFERENCE} by the corrected paired t-test (alpha 0.05).",
            "",
            summary(results),
            "",
        ]
        text += [line for r in results for line in (markdown(r), "")]
        elapsed = time.perf_counter() - start
        text.append(f"{'Total' if done else 'So far'} time: {elapsed:.0f} s")
        text = "\n".join(text)
        if args.out:
            # Rewritten after every table: a long run leaves what it finished.
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    return run_tables(
        TABLES, args.tables or list(TABLES), args, run_table, markdown, report, results
    )


def run_tables(tables, names, args, run_table, markdown, report, results):
    """Run each table of ``tables`` named in ``names`` in turn (one whose
    package is missing is skipped with a note), printing its markdown and
    ``report(done=False)`` after each and ``report(done=True)`` at the end;
    the process's exit code."""
    for name in names:
        package = tables[name][2]
        print(f"{name}:", flush=True)
        try:
            results.append(run_table(name, args))
        except ImportError as exc:
            print(f"  [{name}] skipped: {exc} (pip install {package})", flush=True)
            continue
        print(markdown(results[-1]), flush=True)
        report(done=False)
    print()
    print(report(done=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
