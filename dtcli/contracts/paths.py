"""Where dt keeps things on disk, and how it writes files without leaving them half-written."""

from __future__ import annotations

import errno
import json
import os
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
}


def disk_error(path: Path, exc: OSError) -> DtError | None:
    """A disk error (full, read-only, no permission) as one line naming the path and what to
    do; None for other errors."""
    advice = _ADVICE.get(exc.errno or 0)
    if advice is None:
        return None
    return DtError(f"cannot write {path}: {os.strerror(exc.errno or 0)}; {advice}")


def _disk_full(folder: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place; on
    any failure nothing is left behind (a full or read-only disk is one clear DtError)."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        error = disk_error(path, exc) if isinstance(exc, OSError) else None
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
