"""Writing a file atomically: readers (and a process killed mid-write, or a
power loss) see the old file or the whole new one, never a part.

The bytes go to a temporary file beside the target (same folder, so the
same file system), which is flushed and ``fsync``-ed before ``os.replace``
puts it in place; the folder is then ``fsync``-ed too where the system
allows it (POSIX), so that the rename itself survives a power loss.
:func:`skrobust.save` and the search checkpoints write through here.
"""

from __future__ import annotations

import os
import secrets


def write_atomic(path, write) -> None:
    """Call ``write(f)`` with a binary file object, then put what it wrote
    at ``path`` in one step.

    The temporary file is named ``.<name>.<random>.partial`` in ``path``'s
    folder and created with the permissions an ordinary ``open(path, "wb")``
    would give. If ``write`` raises (or the process is interrupted), the
    temporary file is removed and ``path`` is left as it was; a process
    killed outright (SIGKILL) can leave the temporary file behind, never a
    damaged ``path``.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    partial = os.path.join(
        folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.partial"
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(partial, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        try:
            os.unlink(partial)
        except OSError:
            pass
        raise
    _sync_folder(folder)


def _sync_folder(folder) -> None:
    # A folder can be opened and fsync-ed on POSIX systems only; elsewhere
    # (Windows) the rename is as durable as the system makes it.
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
