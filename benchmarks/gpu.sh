#!/usr/bin/env bash
# GPU figures, each beside scikit-learn on the same machine's CPU: the
# workloads of run.py, the tables of tables.py, the batched search of
# bench_batched.py and, when present, the ensembles of ensembles.py. The GPU
# machine has no TensorFlow, so skrobust runs as the skrobust-kjax engine
# (KERAS_BACKEND=jax; training is in JAX on every backend).
#
# Usage: benchmarks/gpu.sh OUTDIR [--smoke]
# The JSON results and a log land in OUTDIR; docs/benchmarks.md ("GPU")
# records the figures of the last run.
set -uo pipefail
out=${1:?usage: benchmarks/gpu.sh OUTDIR [--smoke]}
smoke=${2:-}
mkdir -p "$out"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
py=${PYTHON:-python3}
here=$(dirname "$0")
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    "$py" -c "import jax; print('jax', jax.__version__, jax.devices())"
    nproc
} 2>&1 | tee "$out/machine.txt"
run() { echo "+ $*"; "$@"; }
run "$py" "$here/run.py" $smoke --workload W1 --workload W1-nonoise --workload W2 \
    --workload W3 --engine skrobust-kjax --engine sklearn --json "$out/run.json"
run "$py" "$here/run.py" $smoke --workload W4 --engine skrobust-kjax --json "$out/run_w4.json"
run "$py" "$here/tables.py" $smoke --engine skrobust-kjax --engine sklearn-mlp \
    --engine hist-gbdt --json "$out/tables.json"
if [ -z "$smoke" ]; then run "$py" "$here/bench_batched.py"; else run "$py" "$here/bench_batched.py" --epochs 5; fi
if [ -f "$here/ensembles.py" ]; then run "$py" "$here/ensembles.py" $smoke; fi
