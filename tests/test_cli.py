"""Specification of the ``skrobust`` command line (``skrobust demo``)."""

from __future__ import annotations

import runpy
import sys

import numpy as np
import pandas as pd
import pytest

from skrobust._cli import main

# Tiny settings: two variants (two compiled programs), a few epochs and units.
TINY = [
    "--quick", "--repeats", "2", "--epochs", "5", "--hidden-units", "4",
    "--bn-epochs", "2", "--cv", "2", "--grid-levels", "0,0.1",
    "--robustness-levels", "0,0.5", "--robustness-repeats", "2",
    "--variants", "baseline,hidden",
]  # fmt: skip


@pytest.fixture
def csv_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    classification = frame.assign(label=np.where(X[:, 0] + X[:, 1] > 0, "yes", "no"))
    regression = frame.assign(price=X @ [1.0, 2.0, -1.0] + 0.1 * rng.normal(size=40))
    paths = {
        "classification": tmp_path / "classes.csv",
        "regression": tmp_path / "prices.csv",
        "non_numeric": tmp_path / "mixed.csv",
    }
    classification.to_csv(paths["classification"], index=False)
    regression.to_csv(paths["regression"], index=False)
    classification.assign(city="Paris").to_csv(paths["non_numeric"], index=False)
    return paths


def test_quick_demo_writes_report_and_plots(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", *TINY, "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert len(list(out.glob("*.png"))) >= 3
    for name in ("overfit baseline", "hidden noise 0.1 (pre-activation)"):
        assert name in report
    assert "±" in report
    assert "Quick run" in report
    assert "0.757" in report and "0.814" in report  # the tutorials' numbers
    assert "Grid search over the noise level" in report
    assert "Robustness to noisy test inputs" in report
    for png in ("variants.png", "grid_search.png", "robustness.png", "history.png"):
        assert (out / png).is_file()
        assert f"({png})" in report
    printed = capsys.readouterr().out
    assert "overfit baseline" in printed and "train accuracy" in printed


def test_quick_demo_includes_the_batch_norm_study(tmp_path):
    out = tmp_path / "demo"
    argv = ["demo", *TINY, "--variants", "baseline,hidden,bn-after", "--out", str(out)]
    assert main(argv) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Batch-norm study" in report
    assert "batch norm after activation" in report


def test_demo_on_a_classification_csv(tmp_path, csv_files, capsys):
    out = tmp_path / "cls"
    argv = ["demo", *TINY, "--data", str(csv_files["classification"]),
            "--target", "label", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "classes.csv (classification)" in report
    assert str(tmp_path) not in report  # only the file's name, no paths
    assert "test accuracy" in report
    assert len(list(out.glob("*.png"))) >= 3
    assert "classification" in capsys.readouterr().out


def test_demo_on_a_regression_csv(tmp_path, csv_files):
    out = tmp_path / "reg"
    argv = ["demo", *TINY, "--data", str(csv_files["regression"]),
            "--target", "price", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "prices.csv (regression)" in report
    assert "test R²" in report


def _error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_missing_csv_file_is_a_clear_error(tmp_path, capsys):
    err = _error(
        capsys, ["demo", "--data", str(tmp_path / "nope.csv"), "--target", "y"]
    )
    assert "no such file" in err and "nope.csv" in err
    assert "Traceback" not in err


def test_missing_target_column_is_a_clear_error(csv_files, capsys):
    argv = ["demo", "--data", str(csv_files["classification"]), "--target", "zz"]
    err = _error(capsys, argv)
    assert "'zz' is not in" in err and "'label'" in err


def test_non_numeric_feature_is_a_clear_error(csv_files, capsys):
    argv = ["demo", "--data", str(csv_files["non_numeric"]), "--target", "label"]
    err = _error(capsys, argv)
    assert "non-numeric feature columns 'city'" in err


def test_data_needs_target_and_target_needs_data(csv_files, capsys):
    assert "--target" in _error(
        capsys, ["demo", "--data", str(csv_files["regression"])]
    )
    assert "--data" in _error(capsys, ["demo", "--target", "price"])
    assert "--data" in _error(capsys, ["demo", "--task", "regression"])


def test_forced_task_is_checked(csv_files, capsys):
    argv = ["demo", "--data", str(csv_files["regression"]), "--target", "price",
            "--task", "classification"]  # fmt: skip
    assert "single row" in _error(capsys, argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--repeats", "0"],
        ["demo", "--epochs", "x"],
        ["demo", "--variants", "hidden"],
    ],
)
def test_bad_arguments_are_argparse_errors(capsys, argv):
    _error(capsys, argv)


def test_task_is_inferred_from_the_target():
    from skrobust._cli import _infer_task

    assert _infer_task(pd.Series(["a", "b", "a"])) == "classification"
    assert _infer_task(pd.Series([0, 1, 2, 1])) == "classification"
    assert _infer_task(pd.Series([True, False])) == "classification"
    assert _infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert _infer_task(pd.Series(np.arange(100))) == "regression"


def test_python_dash_m_skrobust_runs_the_cli(monkeypatch, capsys):
    # ``python -m skrobust`` runs skrobust/__main__.py; run it in-process
    # (a subprocess would pay for importing TensorFlow again).
    monkeypatch.setattr(sys, "argv", ["skrobust", "demo", "--help"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("skrobust", run_name="__main__")
    assert exc.value.code == 0
    printed = capsys.readouterr().out
    assert "--quick" in printed and "--data" in printed
    assert "--hidden-units" not in printed  # advanced flags stay hidden
