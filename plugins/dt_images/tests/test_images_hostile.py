"""Hostile image files through the user's command (issue 31, item 3): a pickle bomb in a CIFAR
batch, a huge CIFAR .bin, a gzip bomb: one line, exit 2, nothing hung. The commands that
would hang run in a subprocess with a timeout (and, where memory is the risk, a limit)."""

from __future__ import annotations

import gzip
import os
import pickle
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dt_images import readers
from dtcli.contracts.errors import DtError

ROOT = Path(__file__).resolve().parents[3]


def bomb(depth: int = 48) -> list:
    """A list whose levels share one reference: a few hundred bytes of pickle, 2^depth paths."""
    nested: list = []
    for _ in range(depth):
        nested = [nested, nested]
    return nested


def write_batches(folder: Path, doc: dict) -> Path:
    d = folder / readers.CIFAR_PY_DIR
    d.mkdir(parents=True)
    for name in ("data_batch_1", "test_batch"):
        (d / name).write_bytes(pickle.dumps(doc, protocol=2))
    return folder


def dt(*args: str, timeout: float = 90, memory_gib: int | None = None) -> subprocess.CompletedProcess:
    """``dt ARGS`` in a fresh process; a hang fails the test at ``timeout`` instead of hanging
    the suite."""
    env = {**os.environ, "DTCLI_PLUGINS": "",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}

    def limit() -> None:
        if memory_gib:
            size = memory_gib << 30
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return subprocess.run([sys.executable, "-m", "dtcli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, preexec_fn=limit)


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


SHOW = ("data", "show", "images", "-o", "dataset=cifar10")


@pytest.mark.parametrize("doc, needle", [
    ({b"data": bomb(), b"labels": [1]}, "data is nested deeper"),
    ({b"data": np.zeros((1, 3072), np.uint8), b"labels": bomb()}, "labels is nested deeper"),
    ({b"data": [bomb(), [0] * 3072], b"labels": [1, 2]}, "data is nested deeper"),
], ids=["data", "labels", "bomb-first-row"])
def test_a_shared_reference_pickle_in_a_cifar_batch_is_refused_at_once(tmp_path, doc, needle):
    folder = write_batches(tmp_path / "cifar", doc)
    assert_one_line(dt(*SHOW, "-o", f"data_dir={folder}", timeout=60, memory_gib=4),
                    "is not a CIFAR-10 batch", needle)


def test_a_huge_cifar_binary_batch_is_refused_before_it_is_read(tmp_path):
    d = tmp_path / "cifar" / readers.CIFAR_BIN_DIR
    d.mkdir(parents=True)
    for name in ("data_batch_1.bin", "test_batch.bin"):
        with open(d / name, "wb") as f:  # sparse: 20 GiB that take no disk
            f.truncate(20 << 30)
    line = assert_one_line(dt(*SHOW, "-o", f"data_dir={tmp_path / 'cifar'}", timeout=60,
                              memory_gib=4), "refused")
    assert "bytes" in line


def test_bounded_array_checks_before_numpy_converts():
    from dt_images.safe_pickle import UnsafePickleError, bounded_array

    assert bounded_array([[1, 2], (3, 4)], 2, "x").tolist() == [[1, 2], [3, 4]]
    assert bounded_array(np.arange(3), 1, "x").tolist() == [0, 1, 2]
    for value, needle in ((bomb(), "nested deeper"), ([[1, 2], [3]], "ragged"),
                          ([[1, 2], [3, bomb()]], "not an array of numbers"),
                          ([["a", "b"]], "not numbers"), (np.zeros((10, 1)), "holds"),
                          ([[0] * 1000] * 1000, "would hold"), ({"a": 1}, "not an array")):
        with pytest.raises(UnsafePickleError, match=needle):
            bounded_array(value, 2, "x", max_items=9 if needle == "holds" else 10_000)


@pytest.mark.parametrize("data, needle", [
    (np.full((1, 3072), 300, np.int64), "0..255"),
    (np.full((1, 3072), 0.5), "0..255"),
    ([[2 ** 70] * 3072], "not numbers"),
])
def test_pixels_that_are_not_bytes_are_one_line(cli, tmp_path, data, needle):
    folder = write_batches(tmp_path / "cifar", {b"data": data, b"labels": [1]})
    result = cli(*SHOW, "-o", f"data_dir={folder}")
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert needle in lines[0] and "Traceback" not in result.output


def test_a_gzip_bomb_and_a_fifo_are_refused(tmp_path, monkeypatch, deadline):
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1 << 20)
    path = tmp_path / "emnist-balanced-test-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (4 << 20).to_bytes(4, "big") + bytes(4 << 20))
    with pytest.raises(DtError, match="unpacks to more than"):
        readers.read_idx(path)
    fifo = tmp_path / "test_batch"
    os.mkfifo(fifo)
    with deadline(20), pytest.raises(DtError, match="not a regular file"):
        readers.read_cifar_python_batch(fifo)  # returns at once: never opened for a blocking read
