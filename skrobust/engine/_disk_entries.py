"""The folder of compiled programs: its entries and their file format.

An entry is one file, ``<digest>.prog``: a magic string, the sha256 of the
body, and the body (the pickled key digest, output tree and XLA payload).
The checksum is checked before anything is unpickled, the folder and the
file must belong to this user and be writable by nobody else (POSIX), a
write goes to a temporary file renamed over the entry, and the least
recently used entries are evicted to stay under a size bound.
:class:`~skrobust.engine._disk_cache.Program` decides what to read and
write; this module only keeps the files.
"""

from __future__ import annotations

import collections
import hashlib
import os
import pickle
import threading
import time
from pathlib import Path

_SUFFIX = ".prog"
_MAGIC = b"SKRPROG1"
_DIGEST_BYTES = 32
# Temporary files older than this are left over from a crashed writer.
_STALE_TMP_SECONDS = 3600.0

# What happened, for tests and benchmarks: "compiled", "loaded", "written",
# "evicted", "unreadable" (an entry that could not be loaded), "unsafe" (a
# folder or file that was not trusted), "unserializable", "write_failed".
STATS: collections.Counter = collections.Counter()
_lock = threading.Lock()


def count(event):
    with _lock:
        STATS[event] += 1


def safe_folder(folder: Path, create: bool) -> bool:
    """Whether ``folder`` may hold entries: it exists (created with mode
    0o700 if ``create``), and on POSIX it is owned by this user and nobody
    else may write it."""
    try:
        if create:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
    except OSError:
        return False
    if os.name != "posix":
        return True
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        count("unsafe")
        return False
    return True


def read_entry(folder: Path, name: str):
    """The entry's payload and output tree, or ``None``."""
    path = folder / (name + _SUFFIX)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            if os.name == "posix":
                st = os.fstat(f.fileno())
                if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                    count("unsafe")
                    return None
            data = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST_BYTES
    body = data[head:]
    # The checksum is read before anything is unpickled: a truncated or
    # damaged payload never reaches XLA's deserializer.
    if (
        len(data) <= head
        or data[: len(_MAGIC)] != _MAGIC
        or hashlib.sha256(body).digest() != data[len(_MAGIC) : head]
    ):
        count("unreadable")
        return None
    try:
        stored, out_tree, payload = pickle.loads(body)
    except Exception:  # noqa: BLE001 - any damage means a miss
        count("unreadable")
        return None
    if stored != name:
        count("unreadable")
        return None
    try:
        os.utime(path)  # least recently used is evicted first
    except OSError:
        pass
    return payload, out_tree


def write_entry(folder: Path, name: str, payload: bytes, out_tree, max_bytes) -> bool:
    """Store an entry atomically (whether it was stored: not when larger
    than ``max_bytes``), then evict down to ``max_bytes``; an ``OSError``
    propagates after the temporary file is removed."""
    body = pickle.dumps((name, out_tree, payload), protocol=pickle.HIGHEST_PROTOCOL)
    data = _MAGIC + hashlib.sha256(body).digest() + body
    if max_bytes is not None and len(data) > max_bytes:
        return False
    # A temporary file in the same folder, then an atomic rename: readers in
    # other processes see the old entry, no entry, or the whole new one.
    tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / (name + _SUFFIX))
    except OSError:
        # The caller counts and reports the failure.
        _unlink(tmp)
        raise
    count("written")
    if max_bytes is not None:
        evict(folder, max_bytes)
    return True


def evict(folder: Path, max_bytes: int) -> None:
    """Remove the least recently used entries (oldest modification time:
    a load touches its entry) until ``folder`` holds at most ``max_bytes``,
    and temporary files a crashed writer left."""
    now = time.time()
    entries = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if e.name.endswith(".tmp") and now - st.st_mtime > _STALE_TMP_SECONDS:
                    _unlink(e.path)
                elif e.name.endswith(_SUFFIX):
                    entries.append((st.st_mtime, st.st_size, e.path))
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        if _unlink(path):
            count("evicted")
        total -= size


def _unlink(path) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False
