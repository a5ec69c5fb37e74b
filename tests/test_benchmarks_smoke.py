"""The benchmark harness runs end to end (a seconds-long smoke run)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import keras
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _bench(name):
    """The module ``benchmarks/<name>.py``, by its path (``tests/run.py``
    shares a name with ``benchmarks/run.py``)."""
    module = sys.modules.get(f"bench_{name}")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            f"bench_{name}", BENCH / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def _smoke_run(*args):
    """``benchmarks/run.py --smoke`` with these arguments, started now."""
    return subprocess.Popen(
        [sys.executable, str(BENCH / "run.py"), "--smoke", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outputs(*procs):
    """Each smoke run's stdout, once all have finished; none is left running
    when one fails."""
    try:
        outputs = [proc.communicate(timeout=290) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def _cells(stdout):
    """The (workload, engine) cells of a smoke run's table."""
    rows = [ln.split("|") for ln in stdout.splitlines() if ln.startswith("| W")]
    return {(row[1].strip(), row[2].strip()) for row in rows}


# The default install's skrobust and scikit-learn run every workload's model
# in one worker process; skrobust-cache runs W1 (a warm-up process, then the
# timed one) side by side. skrobust-kjax is the same harness code with
# another KERAS_BACKEND, and Keras Model.fit is checked in this process below.
ENGINES = ("skrobust", "sklearn")
WORKLOADS = ("W1", "W1-nonoise", "W2", "W3", "W4")


@pytest.mark.timeout(300)
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the harness sets each worker's Keras backend itself; the suite's "
    "default run covers it",
)
def test_benchmark_smoke_run_prints_a_table_for_every_engine_and_workload():
    every_workload, cache = _outputs(
        _smoke_run(
            *(f"--engine={e}" for e in ENGINES),
            *(f"--workload={w}" for w in WORKLOADS),
        ),
        _smoke_run("--engine=skrobust-cache", "--workload=W1"),
    )
    assert _cells(every_workload) == {(w, e) for w in WORKLOADS for e in ENGINES}
    assert _cells(cache) == {("W1", "skrobust-cache")}
    # The targets block: every target of the workloads, each with a verdict;
    # the cache one needs the other run's cell.
    block = every_workload.split("Targets (issue 18")[1].splitlines()
    verdicts = [ln for ln in block if ln.startswith("- ")]
    assert len(verdicts) == 4
    assert sum("not measured" in ln for ln in verdicts) == 1
    assert all("met" in ln for ln in verdicts if "not measured" not in ln)


def test_keras_case_scales_its_times_to_the_full_epoch_count():
    # In this process (its backend): W2's smoke run times 1 of its 2 epochs.
    out = _bench("run").run_case("keras-tf", "W2", smoke=True)
    assert out["scaled"] and out["epochs_run"] == 1 and out["epochs"] == 2
    assert out["first"] > 0 and out["second"] > 0
    # 2 epochs of W2's 500 training rows in batches of 32.
    assert out["steps"] == 2 * -(-500 // 32)
    assert out["ms_per_step"] == pytest.approx(1000 * out["second"] / out["steps"])
    assert out["import_s"] >= 0 and out["peak_mb"] > 0


@pytest.mark.parametrize(
    "engine, table",
    # skrobust through the mixed table's pipeline; scikit-learn's MLP (fast)
    # on a plain classification and a regression table.
    [("skrobust", "mixed"), ("sklearn-mlp", "1k"), ("sklearn-mlp", "reg10k")],
)
def test_table_benchmark_case_reports_time_steps_and_score(engine, table):
    # In this process (its backend), on the smoke-sized table.
    out = _bench("tables").run_case(engine, table, smoke=True)
    assert out["first"] > 0 and out["second"] > 0
    # 2 epochs of the smoke table's 240 training rows in batches of
    # min(200, n), both libraries' default.
    assert out["steps"] == 2 * -(-240 // 200)
    # ms per step divides the second fit's time by the steps it ran.
    assert out["ms_per_step"] == pytest.approx(1000 * out["second"] / out["steps"])


def _row(engine, first, second, **extra):
    return {"engine": engine, "first": first, "second": second, **extra}


def test_workload_targets_are_met_or_not_from_ratios_in_one_run():
    format_targets = _bench("harness").format_targets
    targets = _bench("run").targets

    results = [
        {**_row("sklearn", 2.0, 2.0), "workload": "W1"},
        {**_row("skrobust", 5.0, 0.1), "workload": "W1"},  # 2.5x, 0.05x
        {**_row("skrobust-cache", 4.0, 0.1), "workload": "W1"},  # 2x: not met
        {**_row("skrobust", 5.0, 0.05), "workload": "W1-nonoise"},  # noise 2x
    ]
    got = {t.text.split(" /")[0]: t for t in targets(results)}
    measured = {k: round(t.measured, 3) for k, t in got.items()}
    assert measured == {
        "W1 first fit in the first process ever (skrobust)": 2.5,
        "W1 first fit in a later process (skrobust-cache)": 2.0,
        "W1 warm (second) fit": 0.05,
        "W1 (hidden noise)": 2.0,
    }
    block = format_targets(targets(results), smoke=False)
    assert block.count(", met") == 2 and block.count("not met") == 2


def test_table_targets_report_a_missing_cell_as_not_measured():
    format_targets = _bench("harness").format_targets
    targets = _bench("tables").targets

    results = [
        {**_row("sklearn-mlp", 1.0, 1.0), "table": "1k"},
        {**_row("skrobust", 2.0, 0.4, ms_per_step=0.03), "table": "1k"},
        {**_row("skrobust", 9.0, 9.0, ms_per_step=0.033), "table": "50k"},
    ]
    by = {t.text.split(" /")[0]: t.measured for t in targets(results)}
    assert by["1k default fit (second)"] == pytest.approx(0.4)
    assert by["ms per step, 50k"] == pytest.approx(1.1)
    assert by["10k default fit (second)"] is None  # no 10k row
    assert by["1k first fit in a later process (skrobust-cache)"] is None
    block = format_targets(targets(results), smoke=True)
    assert block.count("not measured") == 3 and "smoke run" in block


def test_accuracy_comparison_statistics():
    compare = _bench("accuracy_equivalence").compare

    same = compare([0.8, 0.81, 0.79, 0.8], [0.8, 0.79, 0.81, 0.8], margin=0.05)
    assert same["welch_p"] > 0.5 and same["tost_p"] < 0.05
    apart = compare([0.9, 0.91, 0.89, 0.9], [0.7, 0.71, 0.69, 0.7], margin=0.05)
    assert apart["welch_p"] < 0.01 and apart["tost_p"] > 0.5
