"""Specification of the ``skrobust`` command line (``skrobust demo``)."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skrobust._cli import QUIET_FRAMEWORKS, main

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
    }
    classification.to_csv(paths["classification"], index=False)
    regression.to_csv(paths["regression"], index=False)
    return paths


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One tiny quick demo with the batch-norm study, run as the installed
    ``skrobust`` script in a fresh process without the frameworks' log
    settings: the report and plot tests and the start-up-lines test below
    read different things of the same run (each run imports Keras and
    TensorFlow and compiles its programs anew)."""
    out = tmp_path_factory.mktemp("quick") / "demo"
    argv = [*TINY, "--variants", "baseline,hidden,bn-after", "--out", str(out)]
    return _fresh_python("-c", SCRIPT, "demo", *argv), out


def test_quick_demo_writes_report_and_plots(quick_demo):
    run, out = quick_demo
    assert run.returncode == 0, run.stderr
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
    printed = run.stdout
    assert "overfit baseline" in printed and "train accuracy" in printed


def test_quick_demo_includes_the_batch_norm_study(quick_demo):
    run, out = quick_demo
    assert run.returncode == 0, run.stderr
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Batch-norm study" in report
    assert "batch norm after activation" in report
    # The reference it is compared with comes along.
    assert "| no batch norm |" in report
    assert "batch norm after activation minus no batch norm" in report


# The quick run's own variants (no --variants), at a tiny size.
TINY_QUICK = [a for a in TINY if a != "--variants" and not a.startswith("baseline,")]
CELL = re.compile(
    r"\| ([^|]+?) \|[^|]*\|[^|]*\|[^|]*\| "
    r"([+-]\d\.\d{3}) \[([+-]\d\.\d{3,}), ([+-]\d\.\d{3,})\] "
    r"(better|worse|within noise) \|"
)


def test_quick_demo_report_says_how_sure_each_difference_is(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", *TINY_QUICK, "--repeats", "3", "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    # What the quick run leaves out, and how to read it.
    assert "**Quick run**" in report
    assert "3 repeats instead of 10" in report
    assert "3 of the 6 circles variants" in report
    assert "no batch-norm study" in report and "Batch-norm study" not in report
    assert "does not measure what the full study measures" in report  # tiny size
    # Every variant but the reference: difference, 95% interval and a verdict
    # that agrees with the interval.
    assert "test - baseline [95% CI]" in report
    cells = {m[1]: m.groups()[1:] for m in CELL.finditer(report)}
    assert set(cells) == {"input noise 0.01", "hidden noise 0.1 (pre-activation)"}
    for mean, low, high, verdict in cells.values():
        low, high = float(low), float(high)
        assert low <= float(mean) <= high
        assert verdict == (
            "better" if low > 0 else "worse" if high < 0 else "within noise"
        )
    for name, (*_, verdict) in cells.items():
        conclusion = (
            "within noise for 3 repeats"
            if verdict == "within noise"
            else f"{verdict} than overfit baseline"
        )
        assert f"- {name} minus overfit baseline" in report
        assert conclusion in report
    assert "within noise for 3 repeats." in report  # the legend under the table
    # The grid search compares its best level with no noise, split by split.
    assert "Best level: **" in report
    assert ("minus no noise" in report) != (
        "No noise level scored better than no noise" in report
    )
    # The terminal: the table last, then where the report is.
    printed = capsys.readouterr().out.rstrip().splitlines()
    assert printed[-1].startswith("Report: ")
    assert any(line.startswith("hidden noise 0.1 (pre-activation)") for line in printed)


def test_quick_settings_keep_the_studys_network_and_training(tmp_path, monkeypatch):
    # The quick run must measure what the full study measures: the baseline
    # overfits only with the tutorials' epochs, rows and units.
    from skrobust import _demo

    seen = {}

    def fake_run(settings, out, progress_factory):
        seen["settings"] = settings
        return []

    monkeypatch.setattr(_demo, "run_circles", fake_run)
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    quick, full = seen["settings"], _demo.Settings()
    assert (quick.epochs, quick.hidden_units) == (full.epochs, full.hidden_units)
    assert 3 <= quick.repeats < full.repeats
    assert {"baseline", "hidden"} <= set(quick.circles_keys())
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"--epochs {full.epochs}" in report
    assert "so it measures the same thing" in report


@pytest.mark.parametrize(
    "diff, verdict",
    [
        ([0.10, 0.12, 0.14, 0.16], "better"),
        ([-0.03, -0.02, -0.04], "worse"),
        ([0.10, 0.20, 0.30], "within noise"),  # t(2) interval reaches below 0
        ([0.05, -0.05, 0.0, 0.02], "within noise"),
        ([0.0, 0.0, 0.0], "within noise"),
        ([0.3], "within noise"),  # one pair measures no noise
    ],
)
def test_paired_differences_name_a_winner_only_outside_noise(diff, verdict):
    from scipy import stats

    from skrobust._demo import Paired

    p = Paired.of(diff)
    assert p.verdict == verdict
    assert p.mean == pytest.approx(np.mean(diff))
    assert p.n == len(diff) and p.wins == sum(d > 0 for d in diff)
    if len(diff) > 1 and np.std(diff) > 0:
        expected = stats.t.interval(
            0.95, len(diff) - 1, loc=np.mean(diff), scale=stats.sem(diff)
        )
        assert (p.low, p.high) == pytest.approx(expected)
    if verdict == "within noise":
        assert f"within noise for {len(diff)} repeat" in p.conclusion("baseline")
    else:
        assert p.conclusion("baseline").startswith(f"{verdict} than baseline")


# What keeps TensorFlow's start-up lines out of the command's terminal
# (measured with TF 2.21: skrobust/_cli/__init__.py says why each).
@pytest.mark.parametrize(
    "name, value", [("TF_CPP_MIN_LOG_LEVEL", "2"), ("TF_ENABLE_ONEDNN_OPTS", "0")]
)
def test_the_command_line_quiets_tensorflow_in_its_own_process(
    monkeypatch, name, value
):
    monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert os.environ[name] == value


@pytest.mark.parametrize("name", sorted(QUIET_FRAMEWORKS))
def test_the_command_line_keeps_a_users_own_log_settings(monkeypatch, name):
    monkeypatch.setenv(name, "1")
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert os.environ[name] == "1"


# The frameworks' log settings: conftest's, or the command line's if a test
# ran it in-process. Named here, not only read from QUIET_FRAMEWORKS, so that
# a fresh process starts without them whatever the command line sets.
LOG_SETTINGS = {"TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", *QUIET_FRAMEWORKS}


def _fresh_python(*args):
    """Run Python in a new process without the frameworks' log settings, as
    on a fresh install."""
    env = {k: v for k, v in os.environ.items() if k not in LOG_SETTINGS}
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=600
    )


# What the installed ``skrobust`` script runs (pip's console-script wrapper).
SCRIPT = "from skrobust._cli import main; raise SystemExit(main())"
FRAMEWORKS = ("keras", "tensorflow", "jax", "jaxlib")


def _help_in_a_fresh_process(argv):
    """Time ``skrobust ARGV`` from the import of its module (after the
    interpreter has started) in a fresh process; returns (seconds, the
    frameworks it imported, what it printed)."""
    code = (
        "import json, sys, time; start = time.perf_counter()\n"
        "from skrobust._cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "seconds = time.perf_counter() - start\n"
        f"loaded = [m for m in {FRAMEWORKS!r} if m in sys.modules]\n"
        "print(json.dumps([seconds, loaded]))"
    )
    run = _fresh_python("-c", code, *argv)
    assert run.returncode == 0, run.stderr
    *printed, last = run.stdout.splitlines()
    seconds, loaded = json.loads(last)
    return seconds, loaded, "\n".join(printed)


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help_imports_no_framework(argv):
    _, loaded, printed = _help_in_a_fresh_process(argv)
    assert loaded == []
    assert printed.startswith("usage: skrobust")


@pytest.mark.serial
@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help_answers_in_well_under_a_second(argv):
    # The best of three, so that a moment of load on a shared machine does
    # not fail it; the help itself takes a few hundredths of a second.
    assert min(_help_in_a_fresh_process(argv)[0] for _ in range(3)) < 1.0


def test_parsing_demo_arguments_imports_no_framework():
    code = (
        "import sys\n"
        "from skrobust._cli import build_parser\n"
        "build_parser().parse_args(['demo', '--quick', '--repeats', '2',"
        " '--variants', 'baseline,hidden', '--param', 'alpha=0.1'])\n"
        f"print([m for m in {FRAMEWORKS!r} if m in sys.modules])"
    )
    run = _fresh_python("-c", code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_importing_skrobust_sets_no_log_settings():
    # A library user's own environment stays theirs: importing skrobust and
    # its command-line package sets none of the variables the command line
    # sets in its own process, and an estimator's import and fit add nothing
    # to what JAX and Keras set themselves (JAX sets TF_CPP_MIN_LOG_LEVEL=1
    # when it is unset).
    code = (
        "import os\n"
        f"names = {sorted(QUIET_FRAMEWORKS)!r}\n"
        "import skrobust, skrobust._cli, skrobust._cli.demo\n"
        "print([n for n in names if n in os.environ])\n"
        "import jax, keras\n"
        "frameworks = {n: os.environ.get(n) for n in names}\n"
        "from skrobust import NoisyMLPClassifier\n"
        "NoisyMLPClassifier((2,), epochs=1).fit([[0.0], [1.0]] * 2, [0, 1] * 2)\n"
        "print({n: os.environ.get(n) for n in names} == frameworks)"
    )
    run = _fresh_python("-c", code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-2:] == ["[]", "True"]


# TensorFlow's C++ and absl start-up lines: "I0000 00:00:... cpu_feature_guard
# ...", "To enable the following instructions: ...", "WARNING: All log
# messages before absl::InitializeLog() ..." and "I0000 ... port.cc] oneDNN
# custom operations are on ...".
FRAMEWORK_LOG_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:|WARNING: All log messages before absl"
    r"|To enable the following instructions)|oneDNN custom operations"
)


def test_demo_prints_no_framework_start_up_lines(quick_demo):
    # A tiny quick demo (the fixture's, in a fresh process as the installed
    # script runs) still imports Keras (TensorFlow on the default backend),
    # trains, searches and writes the report.
    run, out = quick_demo
    assert run.returncode == 0, run.stderr
    assert (out / "report.md").is_file()
    lines = (run.stdout + run.stderr).splitlines()
    assert [line for line in lines if FRAMEWORK_LOG_LINE.search(line)] == []


@pytest.mark.slow
@pytest.mark.parametrize("random_state", [0, 5, 10])
def test_quick_study_direction_holds_over_seeds(random_state):
    # The quick circles study at its real size (4000 epochs, 500 units): hidden
    # noise does at least as well as the overfit baseline on average, as in
    # the full study (+0.030 over 10 repeats).
    from skrobust._demo import BASELINE, HIDDEN_NOISE, Settings, circles_variants

    settings = Settings.make(
        quick=True, random_state=random_state, variants=("baseline", "hidden")
    )
    results = {r.variant.name: r for r in circles_variants(settings)}
    assert np.mean(results[HIDDEN_NOISE].test_scores) >= np.mean(
        results[BASELINE].test_scores
    )


# The noise kinds beyond the tutorials' variants, which only the CSV mode runs.
CLASSIFICATION_KINDS = (
    "gaussian-dropout,input-feature,weight,gradient,label-smoothing,label-flip"
)


def test_demo_on_a_classification_csv(tmp_path, csv_files, capsys):
    out = tmp_path / "cls"
    argv = ["demo", *TINY, "--data", str(csv_files["classification"]),
            "--target", "label", "--out", str(out),
            "--variants", f"baseline,hidden,{CLASSIFICATION_KINDS}"]  # fmt: skip
    assert main(argv) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "classes.csv (classification)" in report
    assert str(tmp_path) not in report  # only the file's name, no paths
    assert "test accuracy" in report
    assert len(list(out.glob("*.png"))) >= 3
    # Every noise kind is a row of the table, with its parameters spelled out
    # and its paired difference from the baseline.
    for name, params in [
        ("Gaussian dropout 0.5", "noise_type='multiplicative'"),
        ("input noise 0.1 × feature std", "noise_scale='feature'"),
        ("weight noise 0.05", "weight_noise_std=0.05"),
        ("annealed gradient noise eta 0.01", "gradient_noise_eta=0.01"),
        ("label smoothing 0.1", "label_smoothing=0.1"),
        ("label flipping 0.05", "label_flip_rate=0.05"),
    ]:
        assert f"| {name}" in report and params in report
        assert f"- {name}" in report and "minus overfit baseline" in report
    # The circles tutorials' numbers belong to the circles data only.
    assert "tutorial (1 run)" not in report and "0.757" not in report
    printed = capsys.readouterr().out
    assert "classification" in printed
    assert "label flipping 0.05" in printed and "test - baseline [95% CI]" in printed


def test_demo_on_a_regression_csv_with_params(tmp_path, csv_files, capsys):
    out = tmp_path / "reg"
    argv = ["demo", *TINY, "--data", str(csv_files["regression"]),
            "--target", "price", "--out", str(out),
            "--variants", "baseline,hidden,target",
            "--param", "hidden_layer_sizes=(3, 2)", "--param", "optimizer=sgd",
            "--param", "noise_std=0.05"]  # fmt: skip
    assert main(argv) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "prices.csv (regression)" in report
    assert "the target standardized once" in report
    assert "test R²" in report
    assert "| target noise 0.1 × target std" in report
    assert "target_noise_std=0.1, noise_scale='feature'" in report
    # --param reaches every variant; a variant's own setting wins.
    assert "2 hidden layers of 3, 2 ReLU units, SGD" in report
    assert "--param 'hidden_layer_sizes=(3, 2)' --param optimizer=sgd" in report
    assert "`--param noise_std` does not apply to hidden" in report
    assert "--param noise_std does not apply to hidden" in capsys.readouterr().out


def test_params_are_parsed_as_python_literals():
    from skrobust._cli.arguments import estimator_param as param

    assert param("hidden_layer_sizes=(64, 32)")[:2] == ("hidden_layer_sizes", (64, 32))
    assert param("learning_rate=None")[:2] == ("learning_rate", None)
    assert param("early_stopping=True")[:2] == ("early_stopping", True)
    assert param("noise_type='multiplicative'")[1] == "multiplicative"
    assert param(" optimizer = sgd ")[:2] == ("optimizer", "sgd")  # a bare word


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--param", "noise_std=-1"], "--param noise_std=-1: The 'noise_std' "),
        (["--param", "noise_sdt=0.1"], "did you mean 'noise_std'?"),
        (["--param", "noise_type=gaussian"], "one of 'additive', 'multiplicative'"),
        (["--param", "label_smoothing=0.1"], "not a parameter of NoisyMLPRegressor"),
        (["--param", "random_state=1"], "use --random-state"),
        (["--param", "noise_std"], "expected NAME=VALUE"),
        (["--variants", "baseline,hidden,label-flip"], "label-flip cannot run"),
        (["--variants", "baseline,hidden,bn-after"], "bn-after cannot run"),
    ],
)
def test_bad_param_or_variant_on_a_csv_is_a_clear_error(
    csv_files, capsys, extra, message
):
    argv = ["demo", "--data", str(csv_files["regression"]), "--target", "price"]
    err = _error(capsys, argv + extra)
    assert message in err
    assert "Traceback" not in err
    assert message in err.strip().splitlines()[-1]  # one line after the usage


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
        ["demo", "--variants", "baseline,hidden,nope"],
        ["demo", "--variants", "baseline,hidden,weight"],  # needs --data
        ["demo", "--param", "epochs=3"],  # needs --data
    ],
)
def test_bad_arguments_are_argparse_errors(capsys, argv):
    _error(capsys, argv)


def test_task_is_inferred_from_the_target():
    from skrobust._cli.csv_input import _infer_task

    assert _infer_task(pd.Series(["a", "b", "a"])) == "classification"
    assert _infer_task(pd.Series([0, 1, 2, 1])) == "classification"
    assert _infer_task(pd.Series([True, False])) == "classification"
    assert _infer_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert _infer_task(pd.Series(np.arange(100))) == "regression"


def test_python_dash_m_skrobust_runs_the_cli(monkeypatch, capsys):
    # ``python -m skrobust`` runs skrobust/__main__.py; run it in-process
    # (where capsys sees what it prints).
    monkeypatch.setattr(sys, "argv", ["skrobust", "demo", "--help"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("skrobust", run_name="__main__")
    assert exc.value.code == 0
    printed = capsys.readouterr().out
    assert "--quick" in printed and "--data" in printed
    assert "--hidden-units" not in printed  # advanced flags stay hidden
    assert "--param NAME=VALUE" in printed
    from skrobust._demo import VARIANT_KEYS

    for key in VARIANT_KEYS:  # --variants lists every key
        assert key in printed


def test_help_says_how_the_csv_training_scales_with_the_table(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    from skrobust import _demo

    assert f"at most {_demo.CSV_MAX_STEPS} mini-batch steps per fit" in printed
    assert f"{_demo.QUICK_CSV_MAX_STEPS} with --quick" in printed
    assert "--param batch_size=N" in printed and "--param epochs=N" in printed
    assert f"from {_demo.QUICK_LARGE_CSV_ROWS} rows" in printed
    assert ", ".join(_demo.QUICK_LARGE_CSV_KEYS) in printed
