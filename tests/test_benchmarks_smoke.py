"""The benchmark harness runs end to end (a seconds-long smoke run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _smoke_run(*args):
    """``benchmarks/run.py --smoke`` with these arguments, started now."""
    return subprocess.Popen(
        [sys.executable, str(BENCH / "run.py"), "--smoke", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _table_cells(*procs):
    """The (workload, engine) cells of each smoke run's table, once all have
    finished; none is left running when one fails."""
    try:
        outputs = [proc.communicate(timeout=290) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    cells = []
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr[-3000:]
        rows = [ln.split("|") for ln in stdout.splitlines() if ln.startswith("| W")]
        cells.append({(row[1].strip(), row[2].strip()) for row in rows})
    return cells


# The TensorFlow and scikit-learn engines run every workload's model, and the
# JAX engines one workload, W2 (batch norm, SGD with momentum, validation data
# and Keras's scaled times): a JAX case runs the same harness code as its
# TensorFlow twin with another KERAS_BACKEND, and the JAX suite tests the
# engine itself. W1-nonoise is W1 without its noise layer, a path W2 and W4
# take too. The two runs go side by side, as the smoke run's backends do.
TF_ENGINES = ("skrobust-tf", "keras-tf", "sklearn")
JAX_ENGINES = ("skrobust-jax", "keras-jax")
WORKLOADS = ("W1", "W2", "W3", "W4")


@pytest.mark.timeout(300)
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the harness starts its own process per backend; the suite's "
    "TensorFlow run already covers both",
)
def test_benchmark_smoke_run_prints_a_table_for_every_engine_and_workload():
    every_workload, jax = _table_cells(
        _smoke_run(
            *(f"--engine={e}" for e in TF_ENGINES),
            *(f"--workload={w}" for w in WORKLOADS),
        ),
        _smoke_run(*(f"--engine={e}" for e in JAX_ENGINES), "--workload=W2"),
    )
    assert every_workload == {(w, e) for w in WORKLOADS for e in TF_ENGINES}
    assert jax == {("W2", e) for e in JAX_ENGINES}


@pytest.mark.parametrize(
    "engine, table",
    # skrobust through the mixed table's pipeline; scikit-learn's MLP (fast)
    # on a plain classification and a regression table.
    [("skrobust", "mixed"), ("sklearn-mlp", "1k"), ("sklearn-mlp", "reg10k")],
)
def test_table_benchmark_case_reports_time_steps_and_score(engine, table):
    # In this process (its backend), on the smoke-sized table.
    sys.path.insert(0, str(BENCH))
    from tables import run_case

    if engine == "skrobust":
        engine = "skrobust-jax" if keras.backend.backend() == "jax" else "skrobust-tf"
    out = run_case(engine, table, smoke=True)
    assert out["first"] > 0 and out["second"] > 0
    # 2 epochs of the smoke table's 240 training rows in batches of 32 or 200.
    batch = 200 if engine == "sklearn-mlp" else 32
    # ms per step divides the second fit's time by the steps it ran.
    assert out["steps"] == 2 * -(-240 // batch)
    assert out["ms_per_step"] == pytest.approx(1000 * out["second"] / out["steps"])


def test_accuracy_comparison_statistics():
    sys.path.insert(0, str(BENCH))
    from accuracy_equivalence import compare

    same = compare([0.8, 0.81, 0.79, 0.8], [0.8, 0.79, 0.81, 0.8], margin=0.05)
    assert same["welch_p"] > 0.5 and same["tost_p"] < 0.05
    apart = compare([0.9, 0.91, 0.89, 0.9], [0.7, 0.71, 0.69, 0.7], margin=0.05)
    assert apart["welch_p"] < 0.01 and apart["tost_p"] > 0.5
