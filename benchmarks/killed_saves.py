"""Saves killed at random moments leave a loadable model (issue 21 item 1).

The target: 0 unloadable files over 20 saves of a model of at least 20 MB
killed (SIGKILL) at random moments while they overwrite an existing file.

A file ``model.skrobust`` holds the *old* model; a fresh process loads the
*new* one (another seed, same network), saves once to a scratch file (so
that the next saves take their steady time, which it reports), then saves
the new model over ``model.skrobust`` again and again. The parent kills it
after a delay drawn uniformly from [0, 1.2 x one save], so most kills land
inside the first overwrite (in Keras's own save to a temporary folder, in
the zip written to the hidden ``.partial`` file, in its fsync or around the
rename), then loads what is left: it must be the old model or the new one,
with the same predictions. Each kill is classified by what it left: a
``.partial`` file (killed while writing it), a completed overwrite, or
neither (killed before the zip was started).

Usage: ``python benchmarks/killed_saves.py [--kills 20] [--units 2400]``
(two hidden layers of ``--units`` each: 2400 gives a 21 MB file). Prints
one line per kill and the totals; ``docs/reliability.rst`` records them.
``tests/test_reliability.py`` runs three kills of a smaller model (slow).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The saving process: load the new model, one warm-up save (its seconds are
# reported on the "ready" line), then save over the target until killed.
CHILD = """
import sys, time
import skrobust
new = skrobust.load(sys.argv[1])
start = time.perf_counter()
skrobust.save(new, sys.argv[3])
print("ready", time.perf_counter() - start, flush=True)
n = 0
while True:
    skrobust.save(new, sys.argv[2])
    n += 1
    print("saved", n, flush=True)
"""


def kill_saves(n_kills, folder, units=2400, seed=0, log=print):
    """Kill ``n_kills`` saving processes at random moments; a dict with
    the file's size, a save's seconds and one outcome per kill (``model``
    is ``"old"``, ``"new"`` or ``"unloadable: <error>"``)."""
    from sklearn.datasets import make_classification

    import skrobust
    from skrobust import NoisyMLPClassifier

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    X, y = make_classification(64, 8, random_state=0)
    kw = dict(hidden_layer_sizes=(units, units), epochs=1, tol=None)
    old = NoisyMLPClassifier(random_state=0, **kw).fit(X, y)
    new = NoisyMLPClassifier(random_state=1, **kw).fit(X, y)
    old_path, new_path = folder / "old.skrobust", folder / "new.skrobust"
    target, scratch = folder / "model.skrobust", folder / "scratch.skrobust"
    skrobust.save(old, old_path)
    skrobust.save(new, new_path)
    p_old, p_new = old.predict_proba(X), new.predict_proba(X)
    assert not np.array_equal(p_old, p_new)
    # Keras's temporary folders of the killed processes stay in here.
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    outcomes = []
    for k in range(n_kills):
        shutil.copyfile(old_path, target)
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(new_path), str(target), str(scratch)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = proc.stdout.readline().split()
        if not ready or ready[0] != "ready":
            proc.kill()
            raise RuntimeError(f"the saving process did not start: {ready}")
        seconds = float(ready[1])
        delay = rng.uniform(0, 1.2 * seconds)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        saves = proc.stdout.read().count("saved")
        proc.stdout.close()
        partial = [f for f in os.listdir(folder) if f.endswith(".partial")]
        try:
            p = skrobust.load(target).predict_proba(X)
            model = (
                "new"
                if np.array_equal(p, p_new)
                else "old"
                if np.array_equal(p, p_old)
                else "other"
            )
        except Exception as exc:
            model = f"unloadable: {type(exc).__name__}: {exc}"
        where = (
            "after an overwrite"
            if saves
            else "while writing the .partial file"
            if partial
            else "before the zip was started"
            if model == "old"
            else "around the rename"
        )
        outcome = dict(
            delay=delay, save_seconds=seconds, saves=saves, model=model, where=where
        )
        outcomes.append(outcome)
        log(
            f"kill {k + 1:2d}: after {delay:.2f} s (a save takes {seconds:.2f} s), "
            f"{where}: the {model} model"
        )
        for f in partial:
            os.remove(folder / f)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(exist_ok=True)
    return dict(size=old_path.stat().st_size, outcomes=outcomes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--units", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="skrobust-killed-saves-") as folder:
        report = kill_saves(args.kills, folder, args.units, args.seed)
    outcomes = report["outcomes"]
    bad = [o for o in outcomes if o["model"] not in ("old", "new")]
    counts: dict = {}
    for o in outcomes:
        counts[o["where"]] = counts.get(o["where"], 0) + 1
    print(
        f"{len(outcomes)} saves of a {report['size'] / 1e6:.1f} MB model killed: "
        f"{len(bad)} unloadable; "
        + ", ".join(f"{n} {where}" for where, n in counts.items())
        + f"; {sum(o['model'] == 'old' for o in outcomes)} left the old model, "
        f"{sum(o['model'] == 'new' for o in outcomes)} the new one"
    )
    print(
        f"target (0 unloadable over 20 kills, >= 20 MB): "
        f"{'met' if not bad and len(outcomes) >= 20 and report['size'] >= 20e6 else 'not met'}"
    )


if __name__ == "__main__":
    main()
