"""benchmarks/cv_study.py: its tables, outer splits and targets block (no
fitting: the study itself runs for minutes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def cv_study():
    module = sys.modules.get("bench_cv_study")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "bench_cv_study", BENCH / "cv_study.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def test_tables_are_capped_shuffled_and_split_alike(cv_study):
    X, y, task = cv_study.load("breast_cancer", max_rows=200)
    assert task == "classification" and X.shape == (200, 30)
    # A stratified sample, then shuffled: not in the stored order.
    assert not X.index.equals(X.sort_values("mean radius").index)
    assert abs(y.mean() - 357 / 569) < 0.01
    again = cv_study.load("breast_cancer", max_rows=200)
    assert X.equals(again[0]) and np.array_equal(y, again[1])
    splits = cv_study.outer_splits(X, y, task, folds=5, repeats=2)
    assert len(splits) == 10
    assert all(len(np.intersect1d(tr, te)) == 0 for tr, te in splits)
    Xr, yr, task = cv_study.load("diabetes", max_rows=10_000)
    assert task == "regression" and len(Xr) == 442
    assert abs(yr.mean()) < 1e-9 and abs(yr.std() - 1) < 1e-9


def _result(cv_study, name, means, seconds):
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, 10)
    noise -= noise.mean()
    scores = {c: list(m + noise) for c, m in means.items()}
    secs = {c: [seconds.get(c, 1.0)] * 10 for c in means}
    params = {c: [{}] * 10 for c in means}
    return cv_study.tabulate(
        name, "classification", (500, 5), 0.25, scores, secs, params
    )


def test_targets_block_reads_means_and_times(cv_study):
    c = cv_study
    good = _result(
        c,
        "a",
        {c.REFERENCE: 0.90, c.SKLEARN: 0.902, c.HGB: 0.88, c.PLAIN: 0.89},
        {c.REFERENCE: 2.0, c.SKLEARN: 4.0},
    )
    bad = _result(
        c,
        "b",
        {c.REFERENCE: 0.80, c.SKLEARN: 0.82, c.HGB: 0.85, c.PLAIN: 0.81},
        {c.REFERENCE: 6.0, c.SKLEARN: 3.0},
    )
    met = {t.split(" ")[2]: ok for t, ok, _ in c.targets([good])}
    assert all(met.values()) and len(met) == 4
    verdicts = c.targets([good, bad])
    assert [ok for _, ok, _ in verdicts] == [False, False, False, False]
    assert "b -0.020" in verdicts[0][2] and "b 2.00x" in verdicts[3][2]
    text = c.summary([good, bad]) + c.format_targets([good, bad])
    assert "| a (accuracy) | 500 | 0.900 |" in text and "NOT met" in text
    assert c.markdown(bad).count("\n") == 7
