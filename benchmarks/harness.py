"""What the benchmark scripts share: the engines, the fresh process each
(engine, case) runs in, the figures every worker reports, and the targets
block.

skrobust trains in JAX whatever ``KERAS_BACKEND`` is (Keras only builds
``model_``), and keeps its compiled programs in an on-disk cache (on by
default; ``SKROBUST_CACHE_DIR`` moves it, ``SKROBUST_PROGRAM_CACHE=0`` turns
it off). Its three engines differ only in the process they run in:

* ``skrobust``: the default install (no ``KERAS_BACKEND``: Keras on
  TensorFlow), the program cache in a fresh empty folder: the first process
  that ever fits this case;
* ``skrobust-cache``: the same, its cache folder warmed by one untimed run of
  the same case in an earlier process: a later process;
* ``skrobust-kjax``: ``KERAS_BACKEND=jax`` (Keras on JAX too, TensorFlow
  never imported), cold cache.

Importing this module loads neither Keras nor a backend.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

COLD, WARM = "cold", "warm"


@dataclass(frozen=True)
class Engine:
    name: str
    description: str
    # KERAS_BACKEND of its process; None leaves it unset (the default install).
    backend: str | None = None
    # skrobust's program cache: COLD (a fresh empty folder), WARM (a folder an
    # earlier process filled with the same case) or None (not skrobust).
    cache: str | None = None
    # Modules its worker imports first, timed ("import (s)").
    imports: tuple[str, ...] = ()


SKROBUST_IMPORTS = ("skrobust", "skrobust:NoisyMLPClassifier", "keras")

SKROBUST_ENGINES = {
    e.name: e
    for e in (
        Engine(
            "skrobust",
            "skrobust, default install (Keras on TF), cold program cache",
            None,
            COLD,
            SKROBUST_IMPORTS,
        ),
        Engine(
            "skrobust-cache",
            "skrobust, default install, program cache warm",
            None,
            WARM,
            SKROBUST_IMPORTS,
        ),
        Engine(
            "skrobust-kjax",
            "skrobust, KERAS_BACKEND=jax, cold program cache",
            "jax",
            COLD,
            SKROBUST_IMPORTS,
        ),
    )
}

# The variables that decide a process's Keras backend and program cache; a
# worker gets exactly what its engine says, whatever the caller's shell has.
_CONTROLLED = ("KERAS_BACKEND", "SKROBUST_CACHE_DIR", "SKROBUST_PROGRAM_CACHE")


def worker_env(backend: str | None = None, cache_dir: str | None = None) -> dict:
    """Environment of a worker process: quiet TensorFlow logs and warnings,
    ``KERAS_BACKEND=backend`` (unset for ``None``: the default install) and
    skrobust's program cache in ``cache_dir`` (``None``: the user's
    default folder)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    for name in _CONTROLLED:
        env.pop(name, None)
    if backend:
        env["KERAS_BACKEND"] = backend
    if cache_dir:
        env["SKROBUST_CACHE_DIR"] = cache_dir
    return env


def fresh_cache_dir() -> str:
    """A new empty folder for skrobust's program cache (mode 0o700, as the
    cache requires of a folder it reads)."""
    return tempfile.mkdtemp(prefix="skrobust-bench-cache-")


def use_fresh_program_cache() -> str:
    """For scripts that fit in their own process: point skrobust's program
    cache at a fresh empty folder (removed at exit), so that a first fit
    compiles as in the first process ever, unless ``SKROBUST_CACHE_DIR`` or
    ``SKROBUST_PROGRAM_CACHE`` is set already. Call it before the first fit."""
    if "SKROBUST_CACHE_DIR" in os.environ or "SKROBUST_PROGRAM_CACHE" in os.environ:
        return os.environ.get("SKROBUST_CACHE_DIR", "")
    import atexit

    path = fresh_cache_dir()
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    os.environ["SKROBUST_CACHE_DIR"] = path
    return path


def _files_under(path: str) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


# -- in a worker --------------------------------------------------------------


def import_seconds(imports) -> float:
    """Seconds to import ``imports`` ("module" or "module:attribute", in
    order); whatever the process imported before is not counted."""
    t = time.perf_counter()
    for item in imports:
        module, _, attribute = item.partition(":")
        mod = importlib.import_module(module)
        if attribute:
            getattr(mod, attribute)
    return time.perf_counter() - t


def program_cache_stats() -> dict | None:
    """What skrobust's program cache did in this process so far ("compiled",
    "loaded", "written", ...; its private counters), or None where skrobust
    is not imported or has no such counters."""
    if "skrobust" not in sys.modules:
        return None
    try:
        mod = importlib.import_module("skrobust.engine._disk_cache")
    except ImportError:
        return None
    stats = getattr(mod, "STATS", None)
    return None if stats is None else dict(stats)


def case_start() -> dict:
    """What a case's worker notes before its imports, for
    :func:`case_facts`."""
    return {"cache": program_cache_stats(), "tensorflow": "tensorflow" in sys.modules}


def case_facts(start: dict) -> dict:
    """What the case did to its process: the program cache's counters since
    ``start`` (None where skrobust has none), the Keras backend, whether
    TensorFlow is loaded and was before the case (a smoke run's cases share
    a process), and the peak resident memory (``ru_maxrss``, kilobytes on
    Linux)."""
    after = program_cache_stats()
    cache = None
    if after is not None:
        before = start["cache"] or {}
        cache = {k: v - before.get(k, 0) for k, v in after.items()}
        cache = {k: v for k, v in cache.items() if v}
    keras = sys.modules.get("keras")
    return {
        "program_cache": cache,
        "keras_backend": keras.backend.backend() if keras else None,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "tensorflow_before": start["tensorflow"],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def worker_main(items, smoke: bool, run_case) -> int:
    """Run ``run_case(engine, case, smoke)`` for each "engine:case" item and
    print each result as a ``RESULT {json}`` line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for item in items:
        engine, case = item.split(":")
        print("RESULT " + json.dumps(run_case(engine, case, smoke)), flush=True)
    return 0


# -- the driver ---------------------------------------------------------------


def _start(script, cases, smoke, env):
    cmd = [sys.executable, str(script), "--worker", *[f"{e}:{c}" for e, c in cases]]
    if smoke:
        cmd.append("--smoke")
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _collect(proc, cases):
    stdout, stderr = proc.communicate()
    results = [
        json.loads(line[len("RESULT ") :])
        for line in stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    if proc.returncode != 0 or len(results) != len(cases):
        tail = (stderr or stdout)[-3000:]
        raise RuntimeError(f"benchmark worker {cases} failed:\n{tail}")
    return results


class _Job:
    """Cases that run in one process (``KERAS_BACKEND=backend``, program
    cache ``cache``), after an untimed warm-up process for a warm cache."""

    def __init__(self, script, cases, engines, backend, cache, smoke):
        self.script, self.cases, self.smoke = script, cases, smoke
        self.engines = engines
        self.warm = cache == WARM
        self.cache = fresh_cache_dir() if cache else None
        self.env = worker_env(backend, self.cache)
        self.proc = _start(script, cases, smoke, self.env)
        self.cache_files = None

    def start_timed(self):
        """After a warm-up: wait for it, then start the timed process."""
        if self.warm and self.cache_files is None:
            _collect(self.proc, self.cases)
            self.cache_files = _files_under(self.cache)
            self.proc = _start(self.script, self.cases, self.smoke, self.env)

    def finish(self) -> list[dict]:
        try:
            self.start_timed()
            results = _collect(self.proc, self.cases)
            for r in results:
                r["cache"] = self.engines[r["engine"]].cache
                r["cache_files"] = self.cache_files
            return results
        finally:
            self.close()

    def close(self):
        """Stop its process if it still runs; remove its cache folder."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        if self.cache:
            shutil.rmtree(self.cache, ignore_errors=True)


def run_cases(script, cases, engines: dict, smoke=False, log=print) -> list[dict]:
    """Results of every (engine, case) of ``cases``, each timed in a fresh
    process of ``script --worker``, one after the other. A smoke run checks
    the harness, not times: the cases of engines with the same Keras backend
    and cache kind (warm or not) share one process, all such processes side
    by side."""
    if smoke:
        groups: dict = {}
        for e, c in cases:
            eng = engines[e]
            groups.setdefault((eng.backend, eng.cache == WARM), []).append((e, c))
        jobs = []
        try:
            for (backend, warm), group in groups.items():
                uses_cache = any(engines[e].cache for e, _ in group)
                cache = WARM if warm else (COLD if uses_cache else None)
                jobs.append(_Job(script, group, engines, backend, cache, smoke))
            for job in jobs:
                job.start_timed()
            return [r for job in jobs for r in job.finish()]
        finally:
            # One failed: none is left running.
            for job in jobs:
                job.close()
    results = []
    for e, c in cases:
        t = time.perf_counter()
        eng = engines[e]
        (res,) = _Job(script, [(e, c)], engines, eng.backend, eng.cache, smoke).finish()
        log(
            f"  {c:<11} {e:<15} done in {time.perf_counter() - t:6.1f} s: "
            + json.dumps(res),
            flush=True,
        )
        results.append(res)
    return results


# -- reporting -----------------------------------------------------------------


def engine_notes(r: dict, label: str) -> list[str]:
    """What a result's own process says about its engine's setup, where it
    is not what the engine promises."""
    notes = []
    cache = r.get("cache")
    stats = r.get("program_cache")
    if cache and stats is None:
        notes.append(f"{label}: this skrobust has no program cache counters")
    elif cache == WARM and not stats.get("loaded"):
        notes.append(
            f"{label}: no program loaded from the warmed cache "
            f"({r.get('cache_files')} files after the warm-up; counters {stats}): "
            "its first fit compiled"
        )
    elif cache == COLD and stats.get("loaded"):
        notes.append(f"{label}: loaded {stats['loaded']} programs from a cold cache")
    default_install = cache and r.get("engine") != "skrobust-kjax"
    if default_install and r.get("keras_backend") not in (None, "tensorflow"):
        notes.append(f"{label}: Keras backend {r['keras_backend']}, not the default")
    if (
        r.get("engine") == "skrobust-kjax"
        and r.get("tensorflow_imported")
        and not r.get("tensorflow_before")
    ):
        notes.append(f"{label}: TensorFlow was imported")
    return notes


@dataclass(frozen=True)
class Target:
    text: str
    limit: float
    measured: float | None  # None: a cell it needs did not run


def ratio(a, b):
    """``a / b``, or None when either is missing."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


def format_targets(targets, smoke: bool) -> str:
    """The "targets" block: each target's measured ratio, met or not met."""
    lines = ["Targets (issue 18; ratios of times measured in this run):"]
    if smoke:
        lines.append(
            "(smoke run: tiny data and epochs; the ratios check the harness, "
            "not the targets)"
        )
    for t in targets:
        if t.measured is None:
            verdict = "not measured (a cell it needs did not run)"
        else:
            met = "met" if t.measured <= t.limit else "not met"
            verdict = f"{t.measured:.3g}x, {met}"
        lines.append(f"- {t.text} <= {t.limit:g}x: {verdict}")
    return "\n".join(lines)
