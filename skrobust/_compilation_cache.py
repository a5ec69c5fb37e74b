"""An opt-in, on-disk cache of compiled training programs.

The first fit of a network structure in a process compiles its training loop
(XLA: a few seconds on a CPU). The frameworks can keep compiled programs on
disk, so that later processes load them instead; each does it through a
process-wide setting, which skrobust changes only when asked to.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

_TF_FLAG = "--tf_xla_persistent_cache_directory"


def default_cache_directory() -> Path:
    """``$XDG_CACHE_HOME/skrobust``, or ``~/.cache/skrobust``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "skrobust"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Keep compiled training programs on disk, for later processes to reuse.

    Without it, every fresh Python process compiles the training loop of each
    network structure it fits (a few seconds per structure on a CPU, the bulk
    of a small first fit). With it, the first process writes each compiled
    program to ``directory`` and later processes load it: their first fit of
    that structure costs about as much as their second (tracing the program
    and loading it take a fraction of a second to a second).

    This turns on the active Keras backend's own persistent cache, a setting
    of the whole process that also caches the user's other programs:

    * JAX: ``jax.config.update("jax_compilation_cache_dir", ...)`` under
      ``directory / "jax"``, with JAX's other cache settings as they are (it
      stores programs that took over a second to compile);
    * TensorFlow: XLA's persistent cache (``TF_XLA_FLAGS``
      ``--tf_xla_persistent_cache_directory``) under
      ``directory / "tensorflow"``. TensorFlow reads that flag once, at its
      first XLA compilation in the process: call this function before the
      first fit.

    Entries are keyed by the program, the framework's version and the machine,
    so a stale entry is never used; each takes from a few hundred kB to a few
    MB. Delete the directory to empty the cache.

    Parameters
    ----------
    directory : str or path-like, default=None
        Where to keep the programs. ``None`` means
        ``$XDG_CACHE_HOME/skrobust`` (``~/.cache/skrobust``).

    Returns
    -------
    path : pathlib.Path
        The directory the active backend's programs are stored in.

    Examples
    --------
    >>> import skrobust
    >>> path = skrobust.enable_compilation_cache()  # doctest: +SKIP
    """
    root = Path(directory) if directory is not None else default_cache_directory()
    backend = keras.backend.backend()
    path = root.expanduser().resolve() / backend
    if backend == "jax":
        import jax

        path.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(path))
    elif backend == "tensorflow":
        path.mkdir(parents=True, exist_ok=True)
        flags = [
            f
            for f in os.environ.get("TF_XLA_FLAGS", "").split()
            if not f.startswith(_TF_FLAG)
        ]
        os.environ["TF_XLA_FLAGS"] = " ".join([*flags, f"{_TF_FLAG}={path}"])
    else:
        raise RuntimeError(
            f"skrobust trains with the 'tensorflow' or 'jax' Keras backend; the "
            f"active backend is {backend!r}."
        )
    return path
