"""The images problem: readers of every published format, the restricted unpickler,
normalisation, augmentation, rendering, fetching without internet, and training."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dtcli.contracts.errors import DtError

pytest.importorskip("scipy")
pytest.importorskip("sklearn")

from dt_images import readers  # noqa: E402
from dt_images.problem import Images  # noqa: E402

RNG = np.random.default_rng(0)


def cifar_batch(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def write_cifar_python(folder: Path, n: int = 4, protocol: int = 2, bytes_keys: bool = True) -> dict:
    """CIFAR-10's python format: pickled dicts (the originals: Python 2, protocol 2, bytes keys)."""
    d = folder / readers.CIFAR_PY_DIR
    d.mkdir(parents=True)
    written = {}
    for i, name in enumerate([*readers.CIFAR_PY_FILES["train"], "test_batch"]):
        data, labels = cifar_batch(n, i)
        key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
        doc = {key("batch_label"): f"batch {i}", key("labels"): labels, key("data"): data,
               key("filenames"): [f"img{j}.png" for j in range(n)]}
        (d / name).write_bytes(pickle.dumps(doc, protocol=protocol))
        written[name] = (data, labels)
    (d / "batches.meta").write_bytes(pickle.dumps({"label_names": ["airplane"]}, protocol=2))
    return written


def write_cifar_binary(folder: Path, n: int = 3) -> dict:
    d = folder / readers.CIFAR_BIN_DIR
    d.mkdir(parents=True)
    written = {}
    for i, name in enumerate([*readers.CIFAR_BIN_FILES["train"], "test_batch.bin"]):
        data, labels = cifar_batch(n, 10 + i)
        records = np.concatenate([np.asarray(labels, np.uint8)[:, None], data], axis=1)
        (d / name).write_bytes(records.tobytes())
        written[name] = (data, labels)
    return written


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


# -- readers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol,bytes_keys", [(2, True), (4, False), (5, True)])
def test_cifar_python_batches(tmp_path, protocol, bytes_keys):
    written = write_cifar_python(tmp_path, protocol=protocol, bytes_keys=bytes_keys)
    x, y = readers.read_cifar(tmp_path, "train")
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8
    data, labels = written["data_batch_2"]
    # pixel (c, row, col) of image j is data[j, c*1024 + row*32 + col]
    assert x[4 + 1, 2, 5, 7] == data[1, 2 * 1024 + 5 * 32 + 7]
    assert y[4:8].tolist() == labels
    xt, yt = readers.read_cifar(tmp_path / readers.CIFAR_PY_DIR, "test")  # the folder itself
    assert np.array_equal(xt.reshape(4, -1), written["test_batch"][0])


def test_cifar_binary_batches(tmp_path):
    written = write_cifar_binary(tmp_path)
    x, y = readers.read_cifar(tmp_path, "train")
    assert x.shape == (15, 3, 32, 32)
    data, labels = written["data_batch_5.bin"]
    assert np.array_equal(x[12:].reshape(3, -1), data) and y[12:].tolist() == labels
    (tmp_path / readers.CIFAR_BIN_DIR / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DtError, match="not a CIFAR-10 binary batch"):
        readers.read_cifar(tmp_path, "test")


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_malicious_cifar_pickle_is_refused_without_running(tmp_path, protocol):
    write_cifar_python(tmp_path)
    marker = tmp_path / "pwned"
    payload = {b"data": Evil(marker), b"labels": [0]}
    (tmp_path / readers.CIFAR_PY_DIR / "data_batch_1").write_bytes(pickle.dumps(payload, protocol=protocol))
    with pytest.raises(DtError, match="refused to read .*system"):
        readers.read_cifar(tmp_path, "train")
    assert not marker.exists()


def test_restricted_unpickler_refuses_object_arrays_and_other_globals():
    from dt_images.safe_pickle import UnsafePickleError, safe_load

    with pytest.raises(UnsafePickleError):
        safe_load(pickle.dumps(np.array([1, "a"], dtype=object), protocol=2))
    with pytest.raises(UnsafePickleError, match="collections.OrderedDict"):
        import collections
        safe_load(pickle.dumps(collections.OrderedDict(a=1)))
    ok = safe_load(pickle.dumps({"a": [1, 2.5, b"x", ("t", None)], "f": np.arange(6.0).reshape(2, 3)}))
    assert ok["a"] == [1, 2.5, b"x", ("t", None)] and ok["f"][1, 2] == 5.0


def test_svhn_mat(tmp_path):
    from scipy.io import savemat

    x = RNG.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)
    savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y})
    images, labels = readers.read_svhn(tmp_path, "train")
    assert images.shape == (5, 3, 32, 32)
    assert images[3, 1, 4, 6] == x[4, 6, 1, 3]  # (row, col, channel, index) -> (index, c, row, col)
    assert labels.tolist() == [0, 1, 2, 0, 9]
    with pytest.raises(DtError, match="test_32x32.mat"):
        readers.read_svhn(tmp_path, "test")


@pytest.mark.parametrize("split_name,classes", [("balanced", 47), ("letters", 26)])
def test_emnist_idx_is_transposed_back(tmp_path, split_name, classes):
    upright = RNG.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    upright[:, 2, :] = 255  # a horizontal bar in row 2
    labels = np.array([0, 5, 11, classes - 1]) + (1 if split_name == "letters" else 0)
    folder = tmp_path / "gzip"
    folder.mkdir()
    write_idx(folder / f"emnist-{split_name}-train-images-idx3-ubyte.gz", upright.transpose(0, 2, 1))
    write_idx(folder / f"emnist-{split_name}-train-labels-idx1-ubyte.gz", labels)
    images, got = readers.read_emnist(tmp_path, "train", split_name)
    assert images.shape == (4, 1, 28, 28)
    assert np.array_equal(images[:, 0], upright) and (images[:, 0, 2, :] == 255).all()
    assert got.tolist() == [0, 5, 11, classes - 1]


def test_idx_with_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28) + b"\x00" * 5)
    with pytest.raises(DtError, match="IDX header"):
        readers.read_idx(path)


# -- the problem -------------------------------------------------------------------------------


def test_digits_is_the_default_and_normalised():
    p = Images()
    assert p.option_values["dataset"] == "digits" and p.input_shape == (1, 8, 8)
    x, y = p.dataset("train", "standard", 100_000, 0)
    xt, yt = p.dataset("test", "standard", 100_000, 0)
    assert x.shape == (1437, 1, 8, 8) and xt.shape == (360, 1, 8, 8) and x.dtype == torch.float32
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.1
    sub, _ = p.dataset("train", "standard", 50, 3)
    again, _ = p.dataset("train", "standard", 50, 3)
    other, _ = p.dataset("train", "standard", 50, 4)
    assert torch.equal(sub, again) and not torch.equal(sub, other)
    with pytest.raises(DtError, match="one difficulty"):
        p.parse_difficulty("32")


def test_auto_finds_cifar_in_data_dir_and_options_choose_it(tmp_path):
    write_cifar_python(tmp_path)
    p = Images(data_dir=str(tmp_path))
    assert p.option_values["dataset"] == "cifar10"
    assert (p.in_channels, p.num_classes, p.input_shape) == (3, 10, (3, 32, 32))
    x, y = p.dataset("train", "standard", 8, 0)
    assert x.shape == (8, 3, 32, 32) and y.dtype == torch.int64
    with pytest.raises(DtError, match="no SVHN files"):
        Images(dataset="svhn", data_dir=str(tmp_path)).dataset("train", "standard", 2, 0)
    labels, groups = p.groups("test", "standard", 4, 0)
    assert labels[3] == "cat" and len(groups) == 4


def test_augment_crops_and_flips_reproducibly():
    p = Images(dataset="digits", augment="crop-flip")
    x, y = p.dataset("train", "standard", 16, 0)
    a, _ = p.augment(x, y, torch.Generator().manual_seed(1))
    b, _ = p.augment(x, y, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    assert Images(dataset="digits").augment_mode == "none"
    assert Images(dataset="cifar10").augment_mode == "crop-flip"
    from dt_images.augment import random_crop, random_flip

    img = torch.arange(16.0).view(1, 1, 4, 4)
    flips = [random_flip(img, torch.Generator().manual_seed(s)) for s in range(8)]
    assert any(torch.equal(f, img.flip(-1)) for f in flips) and any(torch.equal(f, img) for f in flips)
    crops = [random_crop(img, 1, torch.tensor([-1.0]), torch.Generator().manual_seed(s)) for s in range(20)]
    for c in crops:  # a window of the padded image: values from the image or the fill
        assert set(c.unique().tolist()) <= set(range(16)) | {-1.0}
    assert any(torch.equal(c, img) for c in crops)


def test_presets_follow_the_dataset():
    p = Images(dataset="svhn")
    paper = p.preset("paper", "mlp")
    assert paper["width"] == 500 and paper["alpha"] == 0 and paper["problem_options"] == {"augment": "flip"}
    assert Images().preset("paper", "mlp")["width"] == 200
    assert Images().preset("quick", "convnet")["alpha"] == 0


def test_render_shows_the_top_classes():
    from rich.console import Console

    p = Images()
    x, y = p.dataset("test", "standard", 1, 0)
    probs = torch.zeros(10)
    probs[int(y[0])] = 0.7
    probs[(int(y[0]) + 1) % 10] = 0.3
    console = Console(record=True, width=100)
    console.print(p.render(x[0], torch.tensor(int(y[0])), y[0], None, probs))
    text = console.export_text()
    assert "70.0%" in text and "label" in text and "▀" in text


def test_fetch_without_internet_is_one_clear_error(cli, monkeypatch, tmp_path):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    result = cli("data", "fetch", "cifar10", "--dest", tmp_path / "dl")
    assert result.exit_code == 2
    assert "cannot download https://www.cs.toronto.edu" in result.output
    assert "Traceback" not in result.output


# -- training on images ------------------------------------------------------------------------

TINY = ["--epochs", "1", "--width", "8", "--train-count", "120", "--test-count", "20",
        "--batch-size", "40", "--seed", "0"]


def test_train_recur_resnet_bn_on_digits_and_solve(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "images", "--arch", "recur-resnet-bn", "--depth", "11", *TINY, "--out", run)
    assert result.exit_code == 0, result.output
    import json

    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["max_iters"] == 2 and cfg["model"]["effective_depth"] == 11
    assert cfg["train"]["problem_options"]["dataset"] == "digits" and cfg["train"]["alpha"] == 0
    solved = cli("solve", run, "--fps", "0", "--iters", "3")
    assert solved.exit_code == 0, solved.output
    assert "iteration    3/3" in solved.output and "%" in solved.output


def test_train_on_a_cifar_directory(cli, tmp_path):
    write_cifar_binary(tmp_path / "data", n=12)
    run = tmp_path / "run"
    result = cli("train", "images", "--arch", "recur-resnet-bn", "--depth", "7", *TINY,
                 "-o", "dataset=cifar10", "-o", f"data_dir={tmp_path / 'data'}", "--out", run)
    assert result.exit_code == 0, result.output
    assert "train/val 48/12" in result.output


@pytest.mark.parametrize("shape, names, columns", [
    ((1, 8, 8), [str(k) for k in range(10)], 42),
    ((3, 32, 32), ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"], 42),
    ((1, 8, 8), [str(k) for k in range(10)], 110),
])
def test_image_and_classes_fit_the_room(shape, names, columns):
    """The class list shortens its bars and marks in a narrow pane, and goes under a picture
    too wide to sit beside it: no line longer than the room, every class name whole."""
    import numpy as np
    from rich.console import Console

    from dt_images.render import render_image

    probs = np.linspace(1, 2, len(names))
    probs /= probs.sum()
    console = Console(width=columns, color_system=None, record=True)
    console.print(render_image(np.random.default_rng(0).random(shape), names, [0] * shape[0],
                               [1] * shape[0], False, prediction=0, target=0,
                               probabilities=probs, fit=(columns, 12)))
    text = console.export_text()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= columns
    top = [names[k] for k in np.argsort(-probs)[:5]]
    assert all(f"{name} " in text for name in top)
