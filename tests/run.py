"""Run the test suite once per supported Keras backend.

Usage: ``python tests/run.py [pytest args...]``. The backend must be chosen
before Keras is imported, so each backend gets its own pytest process.
Exits non-zero if any run fails or collects no tests (pytest's exit code 5).
"""

from __future__ import annotations

import os
import subprocess
import sys

BACKENDS = os.environ.get("SKROBUST_TEST_BACKENDS", "tensorflow,jax").split(",")


def main() -> int:
    status = 0
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend)
        print(f"\n===== skrobust tests on the {backend} backend =====", flush=True)
        code = subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], env=env)
        if code == 5:
            print(f"pytest collected no tests on {backend}: failing.", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
