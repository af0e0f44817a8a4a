"""``dt data fetch cifar10|svhn|emnist``: the official files, checksums verified, unpacked.

The checksums are the MD5 sums the data sets' authors publish (and torchvision checks).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Callable

from dtcli.api import DtError

SOURCES = {
    "cifar10": [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                 "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")],
    "svhn": [("http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "train_32x32.mat",
              "e26dedcc434d2e4c54c9b2d4a06d8373"),
             ("http://ufldl.stanford.edu/housenumbers/test_32x32.mat", "test_32x32.mat",
              "eb5a983be6a315427106f1b164d9cef3")],
    "emnist": [("https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip", "emnist-gzip.zip",
                "58c8d27c78d21e728a6bc7b3cc06412e")],
}
CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, target: Path, md5: str,
             progress: Callable[[int, int | None], None]) -> Path:
    """Download ``url`` to ``target`` (via a temporary file), verifying its MD5."""
    import urllib.error
    import urllib.request

    if target.is_file() and md5_of(target) == md5:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as out:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            done = 0
            while block := response.read(CHUNK):
                out.write(block)
                done += len(block)
                progress(done, total)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DtError(f"cannot download {url} ({reason}); without internet, put the files in a "
                      f"folder and pass -o data_dir=FOLDER") from None
    got = md5_of(part)
    if got != md5:
        part.unlink(missing_ok=True)
        raise DtError(f"{url} arrived damaged or changed: MD5 {got}, expected {md5}")
    os.replace(part, target)
    return target


def _inside(dest: Path, name: str) -> bool:
    target = (dest / name).resolve()
    return target == dest.resolve() or dest.resolve() in target.parents


def unpack(archive: Path, dest: Path) -> list[Path]:
    """Extract a .tar.gz or the EMNIST zip into ``dest``, refusing paths that leave it."""
    out: list[Path] = []
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            for m in members:
                if not _inside(dest, m.name):
                    raise DtError(f"{archive} holds a path outside its folder: {m.name}")
            try:
                tar.extractall(dest, members=members, filter="data")
            except TypeError:  # Python < 3.11.4: no filters; the members were checked above
                tar.extractall(dest, members=members)
            out = [dest / m.name for m in members if m.isfile()]
    elif archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not name.endswith(".gz") or not _inside(dest, name):
                    continue
                zf.extract(name, dest)
                out.append(dest / name)
    return out


def fetch(name: str, dest: Path, progress: Callable[[int, int | None], None]) -> list[Path]:
    if name not in SOURCES:
        raise DtError(f"nothing called {name!r} to fetch; choose one of {', '.join(SOURCES)}")
    dest = Path(dest)
    paths: list[Path] = []
    for url, filename, md5 in SOURCES[name]:
        path = download(url, dest / filename, md5, progress)
        unpacked = unpack(path, dest) if filename.endswith((".tar.gz", ".zip")) else []
        paths.extend(unpacked or [path])
    return paths
