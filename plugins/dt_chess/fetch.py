"""``dt data fetch chess``: download the Lichess puzzle database.

Lichess publishes no checksum for the file (it is rebuilt regularly), so dt reports the
SHA-256 of what arrived and keeps it beside the file, for the record and for comparing copies.
The download goes to a temporary name and is moved into place only when complete.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

from dt_chess.store import DOWNLOAD_NAME
from dtcli.api import DtError

URL = "https://database.lichess.org/lichess_db_puzzle.csv.zst"
#: overrides the address (a mirror, or a file:// URL in tests)
URL_ENV = "DT_LICHESS_URL"
CHUNK = 1 << 20


def fetch_puzzles(dest: Path, progress: Callable[[int, int | None], None],
                  timeout: float = 30.0) -> list[Path]:
    """Download the database into ``dest``; return the file and its ``.sha256`` record."""
    import urllib.error
    import urllib.request

    url = os.environ.get(URL_ENV) or URL
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / DOWNLOAD_NAME
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            progress(0, total)
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(done, total)
        if total is not None and done != total:
            raise DtError(f"download of {url} stopped after {done:,} of {total:,} bytes; run it again")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise DtError(f"cannot download {url}: {reason} (no internet? copy the file from a machine "
                      f"that has it and pass -o source=PATH)") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    record = target.with_name(target.name + ".sha256")
    record.write_text(f"{digest.hexdigest()}  {target.name}\n", encoding="utf-8")
    return [target, record]
