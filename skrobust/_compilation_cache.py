"""Where skrobust keeps its compiled training programs on disk.

The first fit of a network structure in a process compiles its training loop
(XLA: a couple of seconds on a CPU, most of a small first fit). skrobust keeps
every compiled program in a folder of the user's cache, so that later
processes load it instead (``skrobust.engine._disk_cache``). It is on by
default and changes no setting of JAX, TensorFlow or the process; this module
holds its public switch.
"""

from __future__ import annotations

import os
from pathlib import Path

from skrobust.engine import _disk_cache

DEFAULT_MAX_BYTES = _disk_cache.DEFAULT_MAX_BYTES


def default_cache_directory() -> Path:
    """skrobust's cache folder; compiled programs go in its ``programs``
    subfolder.

    It is the ``SKROBUST_CACHE_DIR`` environment variable if set, else the
    user's cache folder by the platform's convention
    (``platformdirs.user_cache_dir("skrobust")``: ``~/.cache/skrobust`` on
    Linux, honouring ``XDG_CACHE_HOME``; ``~/Library/Caches/skrobust`` on
    macOS; ``%LOCALAPPDATA%\\skrobust\\Cache`` on Windows).

    Returns
    -------
    path : pathlib.Path
        The folder.
    """
    return _disk_cache.default_root()


def set_program_cache(
    directory: str | os.PathLike | None = None,
    *,
    enabled: bool = True,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Path | None:
    """Choose where compiled training programs are kept on disk, or turn that off.

    skrobust keeps every training and predict program it compiles in a folder,
    one file per network structure, training configuration and data shape, so
    that a later process (a new session, a ``GridSearchCV`` worker) loads it
    instead of compiling it again: its first fit then costs about as much as
    its second. This is on by default, in ``default_cache_directory() /
    "programs"``. The environment sets the default: ``SKROBUST_CACHE_DIR``
    moves skrobust's cache folder, ``SKROBUST_PROGRAM_CACHE=0`` (or ``off``,
    ``false``, ``no``) turns the cache off. A call to this function overrides
    the environment for the rest of the process.

    Entries are keyed by the program, the versions of skrobust, JAX and
    jaxlib, skrobust's engine source, the device and the JAX settings that
    change results, so a stale entry is never loaded, and a loaded program
    gives bit-identical results to a freshly compiled one. Loading an entry
    unpickles it, which can run code: skrobust creates the folder readable
    by the user alone (mode 0o700) and reads nothing from a folder, or file,
    that another user owns or that others may write (on POSIX systems). A
    damaged entry is compiled again and overwritten. Delete the folder to
    empty the cache. No setting of JAX (such as its own
    ``jax_compilation_cache_dir``) changes.

    Parameters
    ----------
    directory : str or path-like, default=None
        The folder to keep programs in. ``None`` means
        ``default_cache_directory() / "programs"``.
    enabled : bool, default=True
        Whether to keep programs on disk at all. With ``False`` every process
        compiles its own programs, as plain ``jax.jit`` does.
    max_bytes : int or None, default=512 MiB
        The most the folder may hold: after a write, the least recently
        used entries are removed until it holds less. ``None``: no bound.
        An entry takes from tens of kB (predict) to about a MB (training).

    Returns
    -------
    path : pathlib.Path or None
        The folder programs are kept in, or ``None`` when off.

    Examples
    --------
    >>> import skrobust
    >>> skrobust.set_program_cache(enabled=False) is None  # doctest: +SKIP
    True
    """
    return _disk_cache.configure(directory, enabled=enabled, max_bytes=max_bytes)


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Keep compiled training programs on disk (backward-compatible name).

    This was skrobust's opt-in switch for the frameworks' process-wide
    compilation caches. Programs are now kept on disk by default, by skrobust
    itself, and no setting of JAX or TensorFlow changes (neither
    ``jax_compilation_cache_dir`` nor ``TF_XLA_FLAGS``). The function is
    ``set_program_cache(directory)``, kept so that existing code runs.

    Parameters
    ----------
    directory : str or path-like, default=None
        The folder to keep programs in. ``None`` means
        ``default_cache_directory() / "programs"``.

    Returns
    -------
    path : pathlib.Path
        The folder programs are kept in.

    Examples
    --------
    >>> import skrobust
    >>> path = skrobust.enable_compilation_cache()  # doctest: +SKIP
    """
    return set_program_cache(directory)
