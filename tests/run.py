"""Run the test suite: all of it on the default Keras backend, and what
Keras builds or reads on every other supported backend.

Usage: ``python tests/run.py [pytest args...]``.

skrobust trains in JAX whatever Keras's backend is; the backend decides only
what ``model_``, ``.keras`` files and ``skrobust.load`` build. So the whole
suite runs once, on TensorFlow (the backend of a default install), and the
tests marked ``keras`` (what Keras builds or reads on its backend:
``model_``, ``.keras`` files, ``skrobust.load``) run again on JAX. The
engine's parity with Keras's layers and optimizers is the same JAX code
against Keras's reference on either backend, so it runs once. The backend must be
chosen before Keras is imported, so each backend gets its own pytest
process; they share nothing, so they run side by side (most of the time goes
to single-threaded compilation, so two processes use a 2-core machine better
than one). Each process writes to its own log, printed whole when it ends,
so the two reports never interleave.

Tests marked ``serial`` measure threads, memory or time and would read the
other process's load as their own: they are left out of the side-by-side phase
and run afterwards, one backend at a time, on an otherwise idle machine
(``tests/conftest.py`` does the selection from ``SKROBUST_TEST_PHASE``).

Exits non-zero if any pytest run fails, or if a backend ran no test at all
(pytest's exit code 5 in both phases).

The whole-suite run of the side-by-side phase is itself spread over
``SKROBUST_TEST_WORKERS`` (default 2) pytest-xdist processes, by file.

Environment: ``SKROBUST_TEST_BACKENDS=jax`` picks the backends (comma
separated; the first runs the whole suite, the others the ``keras`` tests);
``SKROBUST_TEST_SEQUENTIAL=1`` runs the backends one after the other with
live output, as plain ``pytest`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

BACKENDS = os.environ.get("SKROBUST_TEST_BACKENDS", "tensorflow,jax").split(",")
# pytest-xdist processes for the first backend's run in the side-by-side
# phase (``--dist loadfile``: a file's tests and its module fixtures stay in
# one process). Most of a test's time is single-threaded XLA compilation, so
# on two cores two processes for the long run plus one for the short one
# finish sooner than one each.
WORKERS = int(os.environ.get("SKROBUST_TEST_WORKERS", "2"))
NO_TESTS = 5  # pytest's exit code when nothing was collected or selected


def _marked(backend, args):
    """``args`` for ``backend``: the first backend runs what ``args`` select,
    every other one only the ``keras`` tests among them."""
    if backend == BACKENDS[0]:
        return list(args)
    args = list(args)
    expr = "not slow"  # pyproject's default selection
    for i, a in enumerate(args):
        if a == "-m" and i + 1 < len(args):
            expr = args.pop(i + 1)
            args.pop(i)
            break
    return [*args, "-m", f"keras and ({expr})"]


def _env(backend, phase):
    return dict(os.environ, KERAS_BACKEND=backend, SKROBUST_TEST_PHASE=phase)


def _pytest(args):
    return [sys.executable, "-m", "pytest", *args]


def _banner(text):
    print(f"\n===== {text} =====", flush=True)


def _run_side_by_side(args):
    """The non-serial tests of every backend at once; returns exit codes."""
    color = ["--color=yes"] if sys.stdout.isatty() else []
    procs = {}
    for backend in BACKENDS:
        log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        spread = []
        if backend == BACKENDS[0] and WORKERS > 1 and "-n" not in args:
            spread = ["-n", str(WORKERS), "--dist", "loadfile"]
        proc = subprocess.Popen(
            _pytest([*color, *spread, *_marked(backend, args)]),
            env=_env(backend, "parallel"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs[backend] = (proc, log, time.monotonic())
    print(
        f"Running the whole suite on {BACKENDS[0]} and the keras tests on "
        f"{', '.join(BACKENDS[1:])} side by side; each log is printed when its "
        "run ends.",
        flush=True,
    )
    codes = {}
    try:
        while len(codes) < len(procs):
            for backend, (proc, log, start) in procs.items():
                if backend in codes or proc.poll() is None:
                    continue
                codes[backend] = proc.returncode
                _banner(
                    f"skrobust tests on the {backend} backend "
                    f"({time.monotonic() - start:.0f} s)"
                )
                log.seek(0)
                sys.stdout.write(log.read())
                sys.stdout.flush()
                log.close()
            time.sleep(0.5)
    finally:
        for proc, _, _ in procs.values():
            if proc.poll() is None:
                proc.terminate()
    return codes


def _run_serial(args, phase):
    codes = {}
    for backend in BACKENDS:
        what = "serial tests" if phase == "serial" else "skrobust tests"
        _banner(f"{what} on the {backend} backend")
        codes[backend] = subprocess.call(
            _pytest(_marked(backend, args)), env=_env(backend, phase)
        )
    return codes


def main() -> int:
    args = sys.argv[1:]
    # One folder of compiled programs for every pytest process of this run
    # (tests/conftest.py explains why), removed at the end.
    if "SKROBUST_CACHE_DIR" not in os.environ:
        cache = tempfile.TemporaryDirectory(prefix="skrobust-test-programs-")
        os.environ["SKROBUST_CACHE_DIR"] = cache.name
    if os.environ.get("SKROBUST_TEST_SEQUENTIAL") or len(BACKENDS) == 1:
        phases = [_run_serial(args, "all")]
    else:
        phases = [_run_side_by_side(args), _run_serial(args, "serial")]
    status = 0
    for backend in BACKENDS:
        codes = [phase[backend] for phase in phases]
        if all(code == NO_TESTS for code in codes):
            print(f"pytest ran no tests on {backend}: failing.", flush=True)
            status = status or NO_TESTS
        failed = [code for code in codes if code not in (0, NO_TESTS)]
        if failed:
            print(f"pytest failed on {backend} (exit codes {codes}).", flush=True)
            status = status or failed[0]
    return status


if __name__ == "__main__":
    sys.exit(main())
