"""Does each kind of noise of issue 7 help? A small repeated-CV study.

For every noise kind of ``NoisyMLPClassifier`` / ``NoisyMLPRegressor`` that
issue 7 added, a grid over its setting (0 is the baseline) is evaluated with
repeated 5-fold cross-validation on two data sets that ship with
scikit-learn:

* classification: ``load_breast_cancer`` (569 rows, 30 features, accuracy);
* regression: ``load_diabetes(scaled=False)`` (442 rows, 10 features, R^2).
  The target is standardized once on all rows (R^2 does not change under an
  affine map of the target, and the network's fixed-size learning steps need
  a target of unit scale; only its mean and std are shared across folds).

Each model is ``Pipeline(StandardScaler, NoisyMLP...)`` with one hidden layer
of 64 ReLU units, Adam, 200 epochs, batch 32 and ``random_state=0`` (every
candidate and fold gets the same seeds, so the comparison between settings is
paired). The feature-scaled input noise study instead runs on the *raw*
features: absolute vs ``noise_scale="feature"`` input noise, with the
standardized pipeline as the reference.

Each grid runs as one :class:`skrobust.model_selection.BatchedGridSearchCV`
(all settings and folds trained together as one vectorized JAX run); the script
checks ``batch_info_`` and reports any member that fell back to a plain fit.

Outputs (``--out``, default ``docs/_static/noise_kinds``):

* ``results.csv``: one row per (study, data set, variant, setting): mean and
  std of the test score over the splits, and the paired difference to the
  variant's setting 0 (mean, std over splits, splits better / worse);
* ``<study>.csv``: the same, formatted for the user guide (``csv-table``);
* ``<study>.png``: mean +- std score (top) and paired difference (bottom)
  against the setting;
* ``results.md``: all tables, with the command, backend, versions, the
  batching report and the wall time (also in ``meta.json``).

Usage::

    python benchmarks/noise_kinds_study.py          # full
    python benchmarks/noise_kinds_study.py --quick  # smoke

Training is in JAX whatever the Keras backend; the script sets
``KERAS_BACKEND=jax`` unless it is set already, so that TensorFlow is never
imported (the scores do not depend on it).

``--quick`` trains tiny networks for a few epochs on 2 folds and two settings
per grid; without ``--out`` it writes to a temporary directory so that it
never overwrites the committed results. ``--only KEY ...`` runs some studies
(``gaussian_dropout``, ``feature_scaled``, ``weight_noise``,
``gradient_noise``, ``label_smoothing``, ``label_flip``, ``target_noise``);
its ``results.*`` then hold those only.

The full study took 238 s on the project's shared 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    RepeatedKFold,
    RepeatedStratifiedKFold,
)
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "_static" / "noise_kinds"


# -- configuration --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Variant:
    """One curve of a study: a data set, scaled or raw features, and the
    estimator parameters fixed for the whole grid."""

    dataset: str  # "breast_cancer" or "diabetes"
    label: str  # shown in tables and legends
    standardize: bool = True
    fixed: tuple = ()  # ((name, value), ...) estimator parameters


@dataclasses.dataclass(frozen=True)
class Study:
    key: str
    title: str
    param: str  # the estimator parameter on the grid
    settings: tuple
    variants: tuple


BOTH = ("breast_cancer", "diabetes")
DATASET_TITLES = {
    "breast_cancer": "breast cancer (accuracy)",
    "diabetes": "diabetes (R²)",
}


def _plain(*datasets, fixed=()):
    return tuple(Variant(d, DATASET_TITLES[d], True, fixed) for d in datasets)


def studies() -> list[Study]:
    feature_variants = []
    for d in BOTH:
        feature_variants += [
            Variant(d, "raw, absolute", False, (("noise_scale", "absolute"),)),
            Variant(d, "raw, feature", False, (("noise_scale", "feature"),)),
            Variant(d, "standardized, absolute", True, (("noise_scale", "absolute"),)),
        ]
    input_noise = (("noise_position", "input"),)
    feature_variants = tuple(
        dataclasses.replace(v, fixed=input_noise + v.fixed) for v in feature_variants
    )
    gaussian_dropout = (
        ("noise_type", "multiplicative"),
        ("noise_position", "post_activation"),
    )
    return [
        Study(
            "gaussian_dropout",
            "Multiplicative (Gaussian dropout) noise on the hidden units",
            "noise_std",
            (0.0, 0.25, 0.5, 1.0, 1.5),
            _plain(*BOTH, fixed=gaussian_dropout),
        ),
        Study(
            "feature_scaled",
            "Feature-scaled input noise on unscaled features",
            "noise_std",
            (0.0, 0.1, 0.3, 1.0),
            feature_variants,
        ),
        Study(
            "weight_noise",
            "Weight noise on the hidden kernels",
            "weight_noise_std",
            (0.0, 0.01, 0.03, 0.1, 0.3),
            _plain(*BOTH),
        ),
        Study(
            "gradient_noise",
            "Annealed gradient noise (gamma = 0.55)",
            "gradient_noise_eta",
            (0.0, 0.01, 0.1, 0.3, 1.0),
            _plain(*BOTH),
        ),
        Study(
            "label_smoothing",
            "Label smoothing",
            "label_smoothing",
            (0.0, 0.05, 0.1, 0.2, 0.3),
            _plain("breast_cancer"),
        ),
        Study(
            "label_flip",
            "Label flipping",
            "label_flip_rate",
            (0.0, 0.02, 0.05, 0.1, 0.2),
            _plain("breast_cancer"),
        ),
        Study(
            "target_noise",
            "Target noise (standardized target)",
            "target_noise_std",
            (0.0, 0.1, 0.3, 0.5, 1.0),
            _plain("diabetes"),
        ),
    ]


@dataclasses.dataclass(frozen=True)
class Setup:
    hidden: tuple
    epochs: int
    n_splits: int
    n_repeats: int
    max_settings: int | None  # --quick keeps the first settings only


FULL = Setup(hidden=(64,), epochs=200, n_splits=5, n_repeats=3, max_settings=None)
QUICK = Setup(hidden=(8,), epochs=3, n_splits=2, n_repeats=1, max_settings=2)


# -- data and models --------------------------------------------------------------


def load(name):
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return X, y, "classification"
    X, y = load_diabetes(return_X_y=True, scaled=False)
    return X, (y - y.mean()) / y.std(), "regression"


def make_search(variant: Variant, study: Study, setup: Setup, task: str):
    from skrobust import NoisyMLPClassifier, NoisyMLPRegressor
    from skrobust.model_selection import BatchedGridSearchCV

    cls = NoisyMLPClassifier if task == "classification" else NoisyMLPRegressor
    est = cls(setup.hidden, epochs=setup.epochs, random_state=0, **dict(variant.fixed))
    pipe = Pipeline(
        [
            ("scale", StandardScaler() if variant.standardize else "passthrough"),
            ("mlp", est),
        ]
    )
    settings = study.settings[: setup.max_settings]
    splitter = RepeatedStratifiedKFold if task == "classification" else RepeatedKFold
    cv = splitter(n_splits=setup.n_splits, n_repeats=setup.n_repeats, random_state=0)
    search = BatchedGridSearchCV(
        pipe,
        {f"mlp__{study.param}": list(settings)},
        scoring="accuracy" if task == "classification" else "r2",
        cv=cv,
        return_train_score=True,
        verbose=1,
    )
    return search, settings


# -- the study ----------------------------------------------------------------------


def run_variant(study, variant, setup):
    X, y, task = load(variant.dataset)
    search, settings = make_search(variant, study, setup, task)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    seconds = time.perf_counter() - t0
    res = search.cv_results_
    n_splits = setup.n_splits * setup.n_repeats
    scores = np.array(
        [res[f"split{i}_test_score"] for i in range(n_splits)]
    ).T  # (n_settings, n_splits)
    train = np.array([res[f"split{i}_train_score"] for i in range(n_splits)]).T
    base = scores[0]
    rows = []
    for setting, s, t in zip(settings, scores, train, strict=True):
        d = s - base
        rows.append(
            {
                "study": study.key,
                "dataset": variant.dataset,
                "variant": variant.label,
                "param": study.param,
                "setting": setting,
                "mean": float(s.mean()),
                "std": float(s.std(ddof=1)) if n_splits > 1 else 0.0,
                "delta_mean": float(d.mean()),
                "delta_std": float(d.std(ddof=1)) if n_splits > 1 else 0.0,
                "n_better": int((d > 1e-12).sum()),
                "n_worse": int((d < -1e-12).sum()),
                "n_splits": n_splits,
                "train_mean": float(t.mean()),
            }
        )
    info = dict(search.batch_info_)
    info.update(
        study=study.key,
        variant=f"{variant.dataset} / {variant.label}",
        seconds=round(seconds, 1),
        warnings=sorted({f"{w.category.__name__}: {w.message}"[:200] for w in caught}),
    )
    return rows, info


def fmt_setting(v):
    return f"{v:g}"


def write_tables(out: Path, all_rows, studies_run):
    """``results.csv`` (numbers) and one display CSV per study."""
    import csv

    fields = list(all_rows[0])
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in all_rows:
            w.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()}
            )
    md = []
    for study in studies_run:
        rows = [r for r in all_rows if r["study"] == study.key]
        header = [
            "data set",
            study.param,
            "score mean ± std",
            "train score",
            "Δ vs 0: mean ± std",
            "splits better / worse",
        ]
        lines = []
        for r in rows:
            label = (
                DATASET_TITLES[r["dataset"]]
                if r["variant"] == DATASET_TITLES[r["dataset"]]
                else f"{r['dataset'].replace('_', ' ')}, {r['variant']}"
            )
            if r["setting"] == 0:
                delta, counts = "(baseline)", ""
            else:
                delta = f"{r['delta_mean']:+.3f} ± {r['delta_std']:.3f}"
                counts = f"{r['n_better']} / {r['n_worse']}"
            lines.append(
                [
                    label,
                    fmt_setting(r["setting"]),
                    f"{r['mean']:.3f} ± {r['std']:.3f}",
                    f"{r['train_mean']:.3f}",
                    delta,
                    counts,
                ]
            )
        with open(out / f"{study.key}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(lines)
        md += [f"## {study.title}", "", "| " + " | ".join(header) + " |"]
        md += ["|" + "---|" * len(header)]
        md += ["| " + " | ".join(line) + " |" for line in lines] + [""]
    return md


def plot_study(out: Path, study, rows):
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(
        2,
        len(datasets),
        figsize=(3.6 * len(datasets) + 0.6, 4.8),
        squeeze=False,
        sharex=True,
        layout="constrained",
    )
    for col, ds in enumerate(datasets):
        sub = [r for r in rows if r["dataset"] == ds]
        variants = list(dict.fromkeys(r["variant"] for r in sub))
        for k, var in enumerate(variants):
            vr = [r for r in sub if r["variant"] == var]
            x = np.arange(len(vr)) + 0.08 * (k - (len(variants) - 1) / 2)
            label = None if len(variants) == 1 else var
            axes[0, col].errorbar(
                x,
                [r["mean"] for r in vr],
                yerr=[r["std"] for r in vr],
                marker="o",
                capsize=3,
                label=label,
            )
            axes[1, col].errorbar(
                x,
                [r["delta_mean"] for r in vr],
                yerr=[r["delta_std"] for r in vr],
                marker="o",
                capsize=3,
                label=label,
            )
        settings = [r["setting"] for r in sub if r["variant"] == variants[0]]
        axes[1, col].axhline(0.0, color="0.5", lw=0.8)
        axes[1, col].set_xticks(
            np.arange(len(settings)), [fmt_setting(s) for s in settings]
        )
        axes[1, col].set_xlabel(study.param)
        axes[0, col].set_title(DATASET_TITLES[ds], fontsize=10)
        if len(variants) > 1:
            axes[0, col].legend(fontsize=7)
    axes[0, 0].set_ylabel("CV score, mean ± std")
    axes[1, 0].set_ylabel("paired Δ vs 0, mean ± std")
    fig.savefig(out / f"{study.key}.png", dpi=90)
    plt.close(fig)


def versions():
    out = {"python": platform.python_version()}
    for pkg in (
        "skrobust",
        "keras",
        "jax",
        "jaxlib",
        "scikit-learn",
        "numpy",
        "matplotlib",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit():
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "HEAD", "--name-only", "--", "skrobust"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if dirty:
            return f"{head} (uncommitted changes in {', '.join(dirty)})"
        return head
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument(
        "--only", nargs="*", default=None, help="run only these studies (keys)"
    )
    args = parser.parse_args(argv)
    setup = QUICK if args.quick else FULL
    if args.out is None:
        out = (
            Path(tempfile.mkdtemp(prefix="noise_kinds_")) if args.quick else DEFAULT_OUT
        )
    else:
        out = args.out
    out.mkdir(parents=True, exist_ok=True)

    import keras

    todo = [s for s in studies() if args.only is None or s.key in args.only]
    print(
        f"noise kinds study: backend {keras.backend.backend()}, {len(todo)} studies, "
        f"hidden {setup.hidden}, {setup.epochs} epochs, "
        f"{setup.n_repeats}x{setup.n_splits}-fold CV, output {out}",
        flush=True,
    )
    t_start = time.perf_counter()
    all_rows, infos = [], []
    for study in todo:
        rows = []
        for variant in study.variants:
            print(
                f"[{time.perf_counter() - t_start:6.0f} s] {study.key}: "
                f"{variant.dataset} / {variant.label} ...",
                flush=True,
            )
            r, info = run_variant(study, variant, setup)
            rows += r
            infos.append(info)
            summary = ", ".join(
                f"{fmt_setting(x['setting'])}: {x['mean']:.3f} ({x['delta_mean']:+.3f})"
                for x in r
            )
            print(
                f"    {info['seconds']} s, {info['n_batched']}/{info['n_members']} "
                f"batched in {info['n_runs']} run(s), fallback {info['n_fallback']} "
                f"{info['fallback_reasons'] or ''}\n    {summary}",
                flush=True,
            )
            for w in info["warnings"]:
                print(f"    warning: {w}", flush=True)
        plot_study(out, study, rows)
        all_rows += rows
    wall = time.perf_counter() - t_start

    n_members = sum(i["n_members"] for i in infos)
    n_fallback = sum(i["n_fallback"] for i in infos)
    meta = {
        "command": "KERAS_BACKEND={} python benchmarks/noise_kinds_study.py {}".format(
            keras.backend.backend(), " ".join(sys.argv[1:] if argv is None else argv)
        ).strip(),
        "backend": keras.backend.backend(),
        "versions": versions(),
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "setup": dataclasses.asdict(setup),
        "wall_seconds": round(wall, 1),
        "n_members": n_members,
        "n_fallback": n_fallback,
        "searches": infos,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    md = [
        # The docs build reads Markdown (MyST): an orphan page, in no toctree.
        "---",
        "orphan: true",
        "---",
        "",
        "# Noise kinds study (issue 7)",
        "",
        "Generated by `benchmarks/noise_kinds_study.py`; do not edit.",
        "",
        f"- command: `{meta['command']}`",
        f"- backend: {meta['backend']}; commit {meta['commit']}; {meta['machine']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        f"- network: hidden {setup.hidden}, ReLU, Adam, batch 32, {setup.epochs} "
        "epochs, random_state=0; StandardScaler first unless the variant says raw",
        f"- CV: {setup.n_repeats} x {setup.n_splits}-fold (repeated, stratified for "
        "classification), the same splits for every setting; scores: accuracy "
        "(breast cancer), R² (diabetes, target standardized)",
        "- Δ vs 0: per split, score minus the same variant's setting-0 score; "
        "mean ± std over the splits; splits better / worse counts them",
        f"- {n_members} fits, {n_members - n_fallback} trained batched, "
        f"{n_fallback} fell back; wall time {wall:.0f} s",
        "",
    ]
    md += write_tables(out, all_rows, todo)
    (out / "results.md").write_text("\n".join(md))
    print(
        f"done in {wall:.0f} s: {n_members} fits, {n_fallback} fell back; "
        f"results in {out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
