"""The benchmark harness runs end to end (a seconds-long smoke run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.timeout(300)
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the harness starts its own process per backend; the suite's "
    "TensorFlow run already covers both",
)
def test_benchmark_smoke_run_prints_a_table_for_every_engine_and_workload():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=290,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| W")]
    engines = {row.split("|")[2].strip() for row in rows}
    workloads = {row.split("|")[1].strip() for row in rows}
    assert engines == {
        "skrobust-tf",
        "skrobust-jax",
        "sklearn",
        "keras-tf",
        "keras-jax",
    }
    assert workloads == {"W1", "W1-nonoise", "W2", "W3", "W4"}


@pytest.mark.parametrize(
    "engine, table",
    [("skrobust", "1k"), ("skrobust", "mixed"), ("sklearn-mlp", "reg10k")],
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
