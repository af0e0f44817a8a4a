"""Readers for the published image data sets, each returning ``(images, labels)`` as numpy
arrays: images ``uint8 (N, C, H, W)``, labels ``int64 (N,)``.

- CIFAR-10, python version: pickled batches, read with a restricted unpickler;
- CIFAR-10, binary version: records of 1 label byte + 3072 pixel bytes;
- SVHN cropped digits: ``train_32x32.mat`` / ``test_32x32.mat`` (label 10 means digit 0);
- EMNIST: gzipped IDX files of any split; images are stored transposed;
- digits: scikit-learn's bundled 8x8 digits (values 0..16, scaled to 0..255 here).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

from dt_images.safe_pickle import UnsafePickleError, bounded_array, safe_load
from dtcli.api import DtError

CIFAR_PY_DIR = "cifar-10-batches-py"
CIFAR_BIN_DIR = "cifar-10-batches-bin"
CIFAR_PY_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CIFAR_BIN_FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
EMNIST_SPLITS = ("balanced", "byclass", "bymerge", "digits", "letters", "mnist")


#: the most bytes read from one data file (decompressed): the largest published file dt reads,
#: EMNIST byclass's training images, is 547 MB; SVHN's train_32x32.mat 182 MB
MAX_FILE_BYTES = 1 << 30


def _check(path: Path, info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise DtError(f"{path} is not a regular file (a pipe, device or folder): refused")
    if info.st_size > limit:
        raise DtError(f"{path} is {info.st_size:,} bytes, more than any data file dt reads "
                      f"({limit:,}): refused")


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes: a FIFO,
    a device or a huge (perhaps sparse) file named as a data file is refused in one line
    instead of blocking or filling memory. Opened without blocking, then checked, so a path
    swapped for a FIFO after a listing cannot hang the read either."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DtError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        _check(path, os.fstat(fd), limit)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise DtError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew since
        raise DtError(f"{path} holds more than {limit:,} bytes: refused")
    return data


def check_regular(path: Path) -> None:
    """``path`` is a regular file of at most :data:`MAX_FILE_BYTES` (for a reader that opens
    it itself), or one clear error."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DtError(f"cannot read {path}: {exc.strerror or exc}") from None
    _check(path, info, MAX_FILE_BYTES)


# -- CIFAR-10 ----------------------------------------------------------------------------------


def _get(d: dict, key: str):
    for k in (key, key.encode()):
        if k in d:
            return d[k]
    raise KeyError(key)


def read_cifar_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR batch (``data_batch_1``, ``test_batch``), never executing code."""
    raw = read_regular(path)
    try:
        doc = safe_load(raw)
    except UnsafePickleError as exc:
        raise DtError(f"refused to read {path}: {exc}") from None
    try:  # bounded: never np.asarray on untrusted nesting (see bounded_array)
        data = bounded_array(_get(doc, "data"), 2, "data")
        labels = bounded_array(_get(doc, "labels"), 1, "labels")
    except UnsafePickleError as exc:
        raise DtError(f"{path} is not a CIFAR-10 batch: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise DtError(f"{path} is not a CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    if data.shape[1:] != (3072,) or len(labels) != len(data):
        raise DtError(f"{path} is not a CIFAR-10 batch (data {data.shape}, {len(labels)} labels)")
    if data.size and (data.min() < 0 or data.max() > 255 or data.dtype.kind == "f"
                      and not np.array_equal(data, np.round(data))):
        raise DtError(f"{path} is not a CIFAR-10 batch (pixels are not whole numbers 0..255)")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise DtError(f"{path} is not a CIFAR-10 batch (labels are not whole numbers)")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels.astype(np.int64)


def read_cifar_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary CIFAR-10 batch: records of <1 label byte><1024 R><1024 G><1024 B>."""
    raw = np.frombuffer(read_regular(path), dtype=np.uint8)
    if raw.size == 0 or raw.size % 3073:
        raise DtError(f"{path} is not a CIFAR-10 binary batch ({raw.size} bytes is not a "
                      f"multiple of 3073)")
    records = raw.reshape(-1, 3073)
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), records[:, 0].astype(np.int64)


def find_cifar(root: Path) -> tuple[str, Path] | None:
    """``("python"|"binary", directory)`` of CIFAR-10 batches under ``root``, or None."""
    for fmt, sub, files in (("python", CIFAR_PY_DIR, CIFAR_PY_FILES),
                            ("binary", CIFAR_BIN_DIR, CIFAR_BIN_FILES)):
        for folder in (root / sub, root):
            if (folder / files["test"][0]).is_file() and (folder / files["train"][0]).is_file():
                return fmt, folder
    return None


def read_cifar(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    found = find_cifar(root)
    if found is None:
        raise DtError(f"no CIFAR-10 batches in {root} (expected {CIFAR_PY_DIR}/ or "
                      f"{CIFAR_BIN_DIR}/; `dt data fetch cifar10` downloads them)")
    fmt, folder = found
    names = (CIFAR_PY_FILES if fmt == "python" else CIFAR_BIN_FILES)[split]
    reader = read_cifar_python_batch if fmt == "python" else read_cifar_binary_batch
    parts = [reader(folder / n) for n in names if (folder / n).is_file()]
    if not parts:
        raise DtError(f"no CIFAR-10 {split} batches in {folder}")
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# -- SVHN --------------------------------------------------------------------------------------


def read_svhn(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    path = root / SVHN_FILES[split]
    if not path.is_file():
        raise DtError(f"no {SVHN_FILES[split]} in {root} (`dt data fetch svhn` downloads it)")
    from scipy.io import loadmat

    check_regular(path)
    try:
        mat = loadmat(str(path))
        x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1)
    except Exception as exc:  # noqa: BLE001 - any failure here means a damaged or foreign file
        raise DtError(f"{path} is not an SVHN .mat file ({type(exc).__name__}: {exc})") from None
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DtError(f"{path} is not an SVHN .mat file (X {x.shape}, {len(y)} labels)")
    images = np.ascontiguousarray(x.transpose(3, 2, 0, 1)).astype(np.uint8)  # (N, C, H, W)
    labels = y.astype(np.int64)
    labels[labels == 10] = 0
    return images, labels


# -- EMNIST ------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not)."""
    data = read_regular(path)
    if str(path).endswith(".gz"):
        try:  # bounded: a few kilobytes of gzip can stand for terabytes
            with gzip.open(io.BytesIO(data), "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DtError(f"cannot read {path}: {exc}") from None
        if len(data) > MAX_FILE_BYTES:
            raise DtError(f"{path} unpacks to more than {MAX_FILE_BYTES:,} bytes: refused")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DtError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if int(np.prod(shape)) != len(data) - header:
        raise DtError(f"{path}: IDX header says {shape}, but the file holds {len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def emnist_path(root: Path, split_name: str, split: str, what: str) -> Path | None:
    kind = "images-idx3" if what == "images" else "labels-idx1"
    name = f"emnist-{split_name}-{split}-{kind}-ubyte"
    for folder in (root, root / "gzip"):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    return None


def read_emnist(root: Path, split: str, split_name: str = "balanced") -> tuple[np.ndarray, np.ndarray]:
    images_path = emnist_path(root, split_name, split, "images")
    labels_path = emnist_path(root, split_name, split, "labels")
    if images_path is None or labels_path is None:
        raise DtError(f"no EMNIST {split_name} {split} files in {root} (expected "
                      f"emnist-{split_name}-{split}-images-idx3-ubyte.gz; `dt data fetch emnist`)")
    images, labels = read_idx(images_path), read_idx(labels_path).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DtError(f"EMNIST files in {root} do not match: images {images.shape}, labels {labels.shape}")
    images = np.ascontiguousarray(images.transpose(0, 2, 1))[:, None]  # stored transposed
    if split_name == "letters":
        labels = labels - 1  # letters are labelled 1..26
    return images, labels


# -- digits ------------------------------------------------------------------------------------

DIGITS_TEST = 360  # the last 360 of a fixed shuffle: about a fifth of the 1797 images


def read_digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DtError("the 'digits' data set needs scikit-learn: pip install 'dt-thinking[images]'") from None
    bunch = load_digits()
    images = np.clip(np.round(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(images))
    chosen = order[:-DIGITS_TEST] if split == "train" else order[-DIGITS_TEST:]
    return images[chosen], labels[chosen]
