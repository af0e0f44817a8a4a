"""Where chess data lives, which file a ``source`` names, and the cache of converted tensors.

Converted puzzles are cached through dt's data cache (``dtcli.api.cached_tensors``), so
``dt data info chess`` lists them; the key holds the source file's path, size and modification
time, so a regenerated or re-downloaded file is converted again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dtcli.api import DtError, data_dir

PROBLEM = "chess"
GENERATED_NAME = "puzzles.csv"
DOWNLOAD_NAME = "lichess_db_puzzle.csv.zst"
#: the puzzles shipped with dt (``-o source=bundled``): the zoo's chess model was trained and
#: tested on them, so its card can be re-measured on any machine
BUNDLED_NAME = "dt-puzzles-v1.csv.gz"


def chess_dir() -> Path:
    return data_dir() / PROBLEM


def generated_path() -> Path:
    """dt's own generated puzzles (``dt data generate chess`` appends here)."""
    return chess_dir() / GENERATED_NAME


def download_path() -> Path:
    """Where ``dt data fetch chess`` puts the Lichess database."""
    return chess_dir() / "downloads" / DOWNLOAD_NAME


def bundled_path() -> Path:
    """The puzzle file shipped in this package (``-o source=bundled``)."""
    return Path(__file__).parent / "data" / BUNDLED_NAME


def resolve_source(source: str) -> Path:
    """The puzzle file a ``source`` option names: ``generated`` (dt's puzzles file, or the
    bundled puzzles until there is one), ``bundled`` (the puzzles shipped with dt),
    ``lichess`` or a path."""
    if source == "generated" and generated_path().exists():
        return generated_path()
    if source in ("bundled", "generated"):
        path = bundled_path()
        if not path.exists():
            raise DtError(f"this dt installation lacks its bundled puzzles ({path}); reinstall dt")
        return path
    if source == "lichess":
        path = download_path()
        if not path.exists():
            raise DtError(f"the Lichess puzzle database is not at {path}: run `dt data fetch chess` "
                          "on a machine with internet, or pass -o source=PATH")
        return path
    path = Path(source).expanduser()
    if not path.is_file():
        raise DtError(f"chess source {source!r} is not a file (use generated, lichess, or the path "
                      "of a Lichess puzzle CSV, .csv, .csv.gz or .csv.zst)")
    return path.resolve()


def file_identity(path: Path) -> dict[str, Any]:
    """What identifies a file's content cheaply: path, size and modification time."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
