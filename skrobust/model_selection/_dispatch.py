"""Run the parts of a search (its batched runs and plain fits) in joblib's
workers, keeping each part as it finishes.

:func:`run_parts` is the one place where a search's work leaves the calling
process, for ``BatchedGridSearchCV``, ``batched_cross_validate`` and the
CV estimators built on them. What it promises (``docs/reliability.rst``):

* every part gets its result or the search raises: a part is never dropped.
  Under ``joblib.parallel_config(backend="dask")`` the parts are Dask tasks,
  and Dask runs the tasks of a lost worker again on the others (its
  ``distributed.scheduler.allowed-failures``, 3 by default), so a worker
  killed mid-search costs time, not results. Each task carries its part's
  arguments as one tuple, which joblib's dask backend sends with the task:
  large arguments of their own (arrays, estimators) it would scatter to one
  worker, and data scattered to a worker that dies cannot be rebuilt;
* parts come back as they finish (on joblib's sequential, loky, threading
  and dask backends; others return them all at the end), and with a
  :class:`~._checkpoint.Checkpoint` each is stored at once (atomically): a
  search interrupted or killed after part k keeps parts 1..k, and a re-run
  with the same checkpoint runs only the others. A checkpoint that cannot
  be written is warned about, and the search goes on;
* Ctrl-C is seen at once. A part run in the calling process (``n_jobs=1``)
  runs in a helper thread while the main thread waits in short,
  interruptible steps: compiled training code holds a thread until its chunk
  of epochs ends, which can be minutes, and Python raises
  ``KeyboardInterrupt`` only in the main thread. The part itself cannot be
  stopped: it finishes in the background and its result is dropped. Worker
  pools are stopped by joblib.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import warnings

from joblib import Parallel, delayed

# Seconds between two looks at an interrupted main thread (Ctrl-C is
# raised by the look itself on POSIX, this bounds the wait elsewhere).
_POLL = 0.1


@dataclasses.dataclass
class Part:
    """One task: ``func(*args)``, kept in a checkpoint under ``key`` (None:
    never kept)."""

    func: object
    args: tuple
    key: str | None = None


def run_parts(parts, *, n_jobs=None, checkpoint=None):
    """Every part's ``func(*args)``, in ``parts``' order, and how many came
    from ``checkpoint`` instead of being run.

    Parameters
    ----------
    parts : list of Part
    n_jobs : int or None
        joblib's ``n_jobs`` (under the active ``joblib.parallel_config``).
    checkpoint : Checkpoint or None
        Parts whose key it holds are not run; the others are stored in it
        as they finish.

    Returns
    -------
    outputs : list
    n_restored : int
    """
    outputs: list = [None] * len(parts)
    todo = []
    for i, part in enumerate(parts):
        if checkpoint is not None and part.key is not None:
            found, value = checkpoint.load(part.key)
            if found:
                outputs[i] = value
                continue
        todo.append(i)
    if todo:
        parent = os.getpid()
        tasks = [
            delayed(_PartCall(parts[i].func, parent))(i, parts[i].args) for i in todo
        ]
        try:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        except (TypeError, ValueError):
            # A backend (joblib's "multiprocessing", some third-party ones)
            # or a joblib older than 1.4 that cannot return results as they
            # finish: all of them at the end, and kept only then.
            parallel = None
        if parallel is not None:
            results = parallel(tasks)
        else:
            results = iter(Parallel(n_jobs=n_jobs)(tasks))
        failed = []
        try:
            for i, out in results:
                outputs[i] = out
                if checkpoint is not None and parts[i].key is not None:
                    _store(checkpoint, parts[i].key, out, failed)
        finally:
            # Stops the workers' remaining parts when the loop was left by
            # an error or an interrupt.
            close = getattr(results, "close", None)
            if close is not None:
                close()
    return outputs, len(parts) - len(todo)


def _store(checkpoint, key, out, failed):
    """Keep a finished part; a checkpoint that cannot be written (a full
    disk, a folder gone) costs the search its resume, not its results."""
    if failed:
        return
    try:
        checkpoint.store(key, out)
    except OSError as exc:
        failed.append(exc)
        warnings.warn(
            f"The checkpoint folder {checkpoint.folder!r} could not be written "
            f"({type(exc).__name__}: {exc}); the search goes on without "
            f"keeping its parts.",
            UserWarning,
            stacklevel=4,
        )


class _PartCall:
    """``(i, func(*args))`` for part ``i``, interruptible in the calling
    process's main thread (:func:`call_interruptibly`). Named after
    ``func``, as joblib's dask backend names its tasks (``batch_of_train_run
    _4_calls``)."""

    def __init__(self, func, parent):
        self.func = func
        self.parent = parent
        self.__name__ = getattr(func, "__name__", "part")

    def __call__(self, i, args):
        if os.getpid() != self.parent:
            return i, self.func(*args)
        return i, call_interruptibly(self.func, *args)


def call_interruptibly(func, *args, **kwargs):
    """``func(*args, **kwargs)``; called from the main thread, ``func`` runs
    in a helper thread and the main thread waits in short steps, so that
    Ctrl-C raises ``KeyboardInterrupt`` at once (the helper then finishes
    in the background and its result is dropped)."""
    if threading.current_thread() is not threading.main_thread():
        return func(*args, **kwargs)
    from sklearn import config_context, get_config

    # scikit-learn's settings are per thread: the helper gets the caller's.
    config = get_config()
    box: dict = {}
    done = threading.Event()

    def target():
        try:
            with config_context(**config):
                box["out"] = func(*args, **kwargs)
        except BaseException as exc:  # re-raised in the main thread
            box["exc"] = exc
        finally:
            done.set()

    helper = threading.Thread(target=target, name="skrobust-part", daemon=True)
    helper.start()
    while not done.wait(_POLL):
        pass
    if "exc" in box:
        raise box.pop("exc")
    return box["out"]
