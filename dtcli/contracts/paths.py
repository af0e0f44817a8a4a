"""Where dt keeps things on disk, and how it writes files without leaving them half-written."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from dtcli.contracts.errors import DtError


def dt_home() -> Path:
    """dt's own directory: ``$DT_HOME``, else ``$XDG_CACHE_HOME/dt``, else ``~/.cache/dt``."""
    if os.environ.get("DT_HOME"):
        return Path(os.environ["DT_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dt"


def data_dir() -> Path:
    """The generated-data cache (``$DT_DATA_DIR`` overrides)."""
    if os.environ.get("DT_DATA_DIR"):
        return Path(os.environ["DT_DATA_DIR"]).expanduser()
    return dt_home() / "data"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space, or write elsewhere (--out, DT_HOME)",
    errno.EDQUOT: "the disk quota is used up: free some space, or write elsewhere (--out, DT_HOME)",
    errno.EROFS: "the file system is read-only: write elsewhere (--out, DT_HOME)",
    errno.EACCES: "no permission to write there: write elsewhere (--out, DT_HOME) or fix its "
                  "permissions",
    errno.EPERM: "no permission to write there: write elsewhere (--out, DT_HOME) or fix its "
                 "permissions",
    errno.ENAMETOOLONG: "the file name is too long: choose a shorter one",
}


def disk_error(path: Path, exc: BaseException) -> DtError | None:
    """A disk error (full, read-only, no permission) as one line naming the path and what to
    do; None for other errors. A library that reports the disk's error as its own (matplotlib
    raising AttributeError while it closes a file the full disk cut short) is seen through: the
    OSError it was handling counts."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in _ADVICE:
            code = cause.errno or 0
            return DtError(f"cannot write {path}: {os.strerror(code)}; {_ADVICE[code]}")
        cause = cause.__cause__ or cause.__context__
    return None


def _disk_full(folder: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def _kind(mode: int) -> str:
    """What kind of file ``mode`` describes, in words."""
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def writable_target(path: Path) -> Path:
    """The regular file a write to ``path`` may replace: ``path`` itself (absent or a regular
    file), or the regular file a symbolic link names. Anything else is refused in one line
    before a byte is written: a directory, a device (``/dev/full``, a copied ``/dev/null``), a
    FIFO, a socket, a link to one of them or to nothing, an empty name, or a path under
    something that is not a directory. dt never turns such a path into a file of its own."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise DtError(f"cannot write {str(path)!r}: that names a directory, not a file; give a "
                      "file name")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        mode = None  # a parent is a file: said below
    except OSError as exc:
        raise DtError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISLNK(mode):
        try:
            target = os.stat(path).st_mode
        except FileNotFoundError:
            raise DtError(f"cannot write {path}: it is a symbolic link to nothing "
                          f"({os.readlink(path)}); remove it or name another file") from None
        except OSError as exc:
            raise DtError(f"cannot write {path}: {exc.strerror or exc} (a symbolic link)") \
                from None
        if not stat.S_ISREG(target):
            raise DtError(f"cannot write {path}: it is a symbolic link to {_kind(target)}, not "
                          "to a regular file; dt writes only regular files: name a file")
        return Path(os.path.realpath(path))
    if mode is not None and not stat.S_ISREG(mode):
        raise DtError(f"cannot write {path}: it is {_kind(mode)}, not a regular file; dt writes "
                      "only regular files: name a file")
    folder = path.parent
    while True:
        try:
            folder_mode = os.stat(folder).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if folder == folder.parent:
                break
            folder = folder.parent
            continue
        except OSError as exc:
            raise DtError(f"cannot write {path}: {folder}: {exc.strerror or exc}") from None
        if not stat.S_ISDIR(folder_mode):
            raise DtError(f"cannot write {path}: {folder} is {_kind(folder_mode)}, not a "
                          "directory")
        break
    return path


def read_small_file(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them: a FIFO, device or
    directory is refused without waiting on it (``/dev/zero`` is never read until memory runs
    out, a FIFO never blocks), and so is a larger file, in one line naming ``what``.
    FileNotFoundError passes through for the caller to word."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DtError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DtError(f"{what} {path} is {_kind(mode)}, not a regular file; name a file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise DtError(f"{what} {path} is larger than {limit:,} bytes; it is not a file dt "
                          "wrote or expects")
        return b"".join(chunks)
    except OSError as exc:
        raise DtError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def make_dir(path: Path) -> bool:
    """Create directory ``path`` and its parents (one clear line when it cannot be: a file in
    the way, a read-only or full disk, no permission). True when this call created ``path``
    itself: of processes racing to create it, exactly one is told True."""
    path = Path(path)
    if path.is_dir():
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(path)
        return True
    except FileExistsError:
        if path.is_dir():
            return False  # another process made it first
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        raise DtError(f"cannot create directory {path}: {blocker} is a file, not a "
                      "directory") from None
    except NotADirectoryError:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path)
        raise DtError(f"cannot create directory {path}: {blocker} is a file, not a "
                      "directory") from None
    except OSError as exc:
        error = disk_error(path, exc)
        if error is None:
            raise DtError(f"cannot create directory {path}: {exc.strerror or exc}") from None
        raise error from None


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place; on
    any failure nothing is left behind (a full or read-only disk is one clear DtError).

    ``path`` must name a regular file or nothing (:func:`writable_target`: never a device,
    FIFO, directory or a link to one; a link to a regular file is kept and its file
    replaced); it is checked again just before the move."""
    path = writable_target(Path(path))
    tmp: str | None = None
    try:
        make_dir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        if writable_target(path) != path:  # it became a link while we wrote
            raise DtError(f"cannot write {path}: it changed into a symbolic link while dt wrote "
                          "it; not replaced")
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, DtError):
            raise
        error = disk_error(path, exc) if isinstance(exc, Exception) else None
        if error is None and isinstance(exc, Exception) and _disk_full(path.parent):
            # torch and safetensors report a full disk as their own errors
            error = disk_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        if error is not None:
            raise error from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
