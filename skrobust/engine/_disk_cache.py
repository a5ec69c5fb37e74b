"""Compiled JAX programs kept on disk, one file per program and signature.

The first fit of a network structure in a fresh process spends most of its
time in XLA compilation (W1: trace 0.09 s, lower 0.10 s, compile 1.9 s on a
2-core CPU). :class:`Program` stands in for ``jax.jit(fn)``: on its first call
with a new signature (tree structure and the shape, dtype and weak type of
every leaf) it looks for the compiled executable on disk, and on a miss
compiles it (``jax.jit(fn).lower(*args).compile()``) and writes it there
(``jax.experimental.serialize_executable``). A later process then loads it
without tracing or compiling. Only public JAX API is used, and no global
setting of JAX, NumPy or Python changes: JAX's own persistent cache is a
process-wide setting that skrobust must leave to the user.

Entries are keyed by a sha256 of the program's description, its signature,
the versions of skrobust, JAX and jaxlib, a hash of the engine's source, the
device and the JAX settings that change what a program computes, so a stale
entry is never loaded. JAX unpickles the payload, which can run code: entries
live in a folder only the user may write (created with mode 0o700), and a
folder or file that someone else owns or may write is never read.

Where the folder is, and whether the cache is on, comes from
:func:`configure` (``skrobust.set_program_cache``) or else the environment:
``SKROBUST_PROGRAM_CACHE=0`` (or ``off``/``false``/``no``) turns it off, and
``SKROBUST_CACHE_DIR`` replaces the user's cache folder
(``platformdirs.user_cache_dir("skrobust")``); programs go in its
``programs`` subfolder.

Nothing here raises to the user beyond what ``jax.jit(fn)`` raises: an
unreadable, corrupt or truncated entry is recompiled and overwritten, and a
program JAX cannot serialize is compiled as usual (with one warning per
process). JAX is imported on first use, so that the settings work without
the optional JAX extra.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skrobust.engine._disk_entries import (
    STATS,
    count,
    read_entry,
    safe_folder,
    write_entry,
)

DEFAULT_MAX_BYTES = 512 * 2**20

# The files whose code decides what a compiled program computes: the engine,
# and the network description whose properties the engine reads while
# tracing. Their hash is part of every key, so that an edit during
# development never loads a program compiled from the old code.
_SOURCES = ("engine/*.py", "_spec.py")

# JAX settings that change the program a function lowers to, or the numbers
# it computes (random bits, matmul precision), without changing its inputs.
_JAX_SETTINGS = (
    "jax_enable_x64",
    "jax_default_matmul_precision",
    "jax_default_prng_impl",
    "jax_threefry_partitionable",
    "jax_numpy_dtype_promotion",
)

_OFF = {"0", "off", "false", "no"}

_lock = threading.RLock()
_warned = False


@dataclass(frozen=True)
class Settings:
    """Where programs are kept (``None``: nowhere) and how many bytes."""

    directory: Path | None
    max_bytes: int | None = DEFAULT_MAX_BYTES


_configured: Settings | None = None
# The environment's settings, with the variables they were read from.
_from_environment: tuple | None = None


def default_root() -> Path:
    """skrobust's cache folder: ``SKROBUST_CACHE_DIR``, or the user's cache
    folder by the platform's convention (``~/.cache/skrobust`` on Linux,
    honouring ``XDG_CACHE_HOME``)."""
    env = os.environ.get("SKROBUST_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("skrobust"))


def configure(directory=None, *, enabled=True, max_bytes=DEFAULT_MAX_BYTES):
    """Set where programs are kept, over the environment; return the folder
    (``None`` when off). ``directory=None`` means ``default_root() /
    "programs"``."""
    global _configured
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
            raise TypeError(f"max_bytes must be an int or None, got {max_bytes!r}.")
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}.")
    if enabled:
        root = default_root() / "programs" if directory is None else Path(directory)
        folder = root.expanduser().absolute()
    else:
        folder = None
    with _lock:
        _configured = Settings(folder, max_bytes)
    return folder


def reset():
    """Forget :func:`configure`'s settings: the environment decides again."""
    global _configured
    with _lock:
        _configured = None


def settings() -> Settings:
    """The settings in force: :func:`configure`'s, or the environment's
    (read on every call, so that a change of the environment counts)."""
    global _from_environment
    current = _configured
    if current is not None:
        return current
    env = (
        os.environ.get("SKROBUST_PROGRAM_CACHE", ""),
        os.environ.get("SKROBUST_CACHE_DIR", ""),
        os.environ.get("XDG_CACHE_HOME", ""),
    )
    cached = _from_environment
    if cached is not None and cached[0] == env:
        return cached[1]
    if env[0].strip().lower() in _OFF:
        current = Settings(None)
    else:
        current = Settings((default_root() / "programs").absolute())
    _from_environment = (env, current)
    return current


def _warn_once(message):
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    warnings.warn(
        f"skrobust could not keep a compiled program on disk ({message}); "
        f"programs are compiled in every process. Set SKROBUST_PROGRAM_CACHE=0 "
        f"to stop trying, or SKROBUST_CACHE_DIR to use another folder.",
        RuntimeWarning,
        stacklevel=4,
    )


# ---------------------------------------------------------------------------
# Keys


_environment_cache: str | None = None


def _source_hash() -> str:
    package = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pattern in _SOURCES:
        for path in sorted(package.glob(pattern)):
            try:
                data = path.read_bytes()
            except OSError:
                data = b"?"
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def environment() -> str:
    """Everything besides the program and its signature that an entry's
    validity depends on, as one string: versions, source and device (read
    once per process), XLA's flags and JAX's settings (read every time)."""
    global _environment_cache
    if _environment_cache is None:
        import jax
        import jaxlib

        import skrobust

        device = jax.devices()[0]
        try:
            platform_version = device.client.platform_version
        except Exception:  # noqa: BLE001 - only part of the key
            platform_version = "?"
        parts = {
            "skrobust": skrobust.__version__,
            "source": _source_hash(),
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "platform": device.platform,
            "platform_version": platform_version,
            "device_kind": device.device_kind,
            "devices": jax.device_count(),
            "python": sys.version_info[:2],
        }
        _environment_cache = repr(sorted(parts.items()))
    import jax

    settings = [(name, getattr(jax.config, name, None)) for name in _JAX_SETTINGS]
    return repr((_environment_cache, os.environ.get("XLA_FLAGS", ""), settings))


def signature(args) -> tuple:
    """The tree structure of ``args`` and (shape, dtype, weak type, sharding
    if committed) of every leaf: what decides which executable serves them."""
    import jax

    leaves, tree = jax.tree_util.tree_flatten(args)
    avals = []
    for leaf in leaves:
        if isinstance(leaf, (np.ndarray, np.generic)):
            # NumPy values are never weakly typed (and jax.typeof is slower).
            avals.append((leaf.shape, str(leaf.dtype), False, None))
            continue
        t = jax.typeof(leaf)
        sharding = None
        if isinstance(leaf, jax.Array) and leaf.committed:
            # An executable compiled for one device refuses arrays committed
            # to another; jax.jit would compile a second program.
            sharding = repr(leaf.sharding)
        avals.append((tuple(t.shape), str(t.dtype), bool(t.weak_type), sharding))
    return tree, tuple(avals)


def digest(key, sig) -> str:
    """The entry's name: a sha256 of the program's description ``key``
    (``repr`` must be deterministic), its signature and the environment."""
    tree, avals = sig
    described = repr(key)
    if " at 0x" in described:
        # An object's address: another process could never find the entry.
        raise ValueError(f"the key's repr is not deterministic: {described}")
    text = repr((described, str(tree), avals, environment()))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Programs


class Program:
    """A callable standing in for ``jax.jit(fn)`` whose compiled executables
    are kept on disk.

    Parameters
    ----------
    fn : callable
        The function to compile, taking pytrees of arrays.
    key : tuple
        A hashable description of ``fn`` whose ``repr`` is deterministic
        across processes (tuples, strings, numbers, ``None`` and frozen
        dataclasses of them): two functions with equal keys must compute the
        same thing.

    Notes
    -----
    With the cache off, a call is ``jax.jit(fn)(*args)``. With it on, each
    signature is compiled (or loaded) once into an executable kept in
    memory; the results are bit-identical either way. Other attributes
    (``lower``, ``eval_shape`` ...) are those of ``jax.jit(fn)``.
    """

    def __init__(self, fn, key: tuple):
        import jax

        self.fn = fn
        self.key = key
        self._jit = jax.jit(fn)
        self._executables: dict = {}
        self._locks: dict = {}
        self._lock = threading.Lock()

    def __getattr__(self, name):
        # Only reached for names the instance lacks.
        if name.startswith("__") or name == "_jit":
            raise AttributeError(name)
        return getattr(self._jit, name)

    def __repr__(self):
        return f"Program({self.key!r})"

    def __call__(self, *args):
        current = settings()
        if current.directory is None:
            return self._jit(*args)
        try:
            sig = signature(args)
            hash(sig)
        except Exception:  # noqa: BLE001 - jax.jit says what is wrong
            return self._jit(*args)
        compiled = self._executables.get(sig)
        if compiled is None:
            compiled = self._obtain(sig, args, current)
        return compiled(*args)

    def _obtain(self, sig, args, current):
        with self._lock:
            lock = self._locks.setdefault(sig, threading.Lock())
        # One thread compiles a signature while the others wait for it.
        with lock:
            compiled = self._executables.get(sig)
            if compiled is None:
                compiled = self._load_or_compile(sig, args, current)
                self._executables[sig] = compiled
        return compiled

    def _load_or_compile(self, sig, args, current):
        import jax

        folder, max_bytes = current.directory, current.max_bytes
        in_tree = jax.tree_util.tree_structure((args, {}))
        try:
            name = digest(self.key, sig)
        except Exception as exc:  # noqa: BLE001 - e.g. a key without repr
            _warn_once(f"no key: {type(exc).__name__}: {exc}")
            name = None
        safe = name is not None and safe_folder(folder, create=True)
        if safe:
            try:
                entry = read_entry(folder, name)
            except Exception:  # noqa: BLE001 - never the user's problem
                count("unreadable")
                entry = None
            if entry is not None:
                compiled = _deserialize(entry, in_tree)
                if compiled is not None:
                    count("loaded")
                    return compiled
        compiled = self._jit.lower(*args).compile()
        count("compiled")
        if safe:
            self._store(compiled, in_tree, folder, name, max_bytes)
        return compiled

    def _store(self, compiled, in_tree, folder, name, max_bytes):
        from jax.experimental import serialize_executable

        try:
            payload, tree, out_tree = serialize_executable.serialize(compiled)
            if tree != in_tree:
                # Loading rebuilds the input tree from the call's arguments.
                raise ValueError("unexpected input tree")
            # A tree that does not pickle round trip cannot be stored.
            if pickle.loads(pickle.dumps(out_tree)) != out_tree:
                raise ValueError("the output tree does not pickle")
        except Exception as exc:  # noqa: BLE001 - the backend may not support it
            count("unserializable")
            _warn_once(f"{type(exc).__name__}: {exc}")
            return
        try:
            with _lock:
                write_entry(folder, name, payload, out_tree, max_bytes)
        except Exception as exc:  # noqa: BLE001 - never the user's problem
            count("write_failed")
            _warn_once(f"{type(exc).__name__}: {exc}")


def _deserialize(entry, in_tree):
    from jax.experimental import serialize_executable

    payload, out_tree = entry
    try:
        # The default backend and all its devices, as at compile time.
        return serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
    except Exception:  # noqa: BLE001 - recompiled and overwritten
        count("unreadable")
        return None


__all__ = [
    "DEFAULT_MAX_BYTES",
    "STATS",
    "Program",
    "configure",
    "default_root",
    "reset",
    "settings",
]
