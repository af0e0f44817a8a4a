"""What dt knows about each image data set: shape, classes, normalisation, where its files are.

No numpy or torch here: the problem reads this at construction time (``dt --help`` imports it).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

DATASETS = ("digits", "cifar10", "svhn", "emnist")
#: data sets looked for, in this order, when ``dataset=auto``; digits is always there
AUTO_ORDER = ("cifar10", "svhn", "emnist")

_EMNIST_BALANCED = string.digits + string.ascii_uppercase + "abdefghnqrt"
EMNIST_CLASSES = {
    "balanced": list(_EMNIST_BALANCED),
    "bymerge": list(_EMNIST_BALANCED),
    "byclass": list(string.digits + string.ascii_uppercase + string.ascii_lowercase),
    "letters": list(string.ascii_uppercase),
    "digits": list(string.digits),
    "mnist": list(string.digits),
}


@dataclass(frozen=True)
class Spec:
    """One data set: ``shape`` is (C, H, W); mean/std per channel on the 0..1 scale."""

    name: str
    shape: tuple[int, int, int]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    #: the usual augmentation: CIFAR crops and flips; digits and letters are not flipped
    augment: str
    title: str


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


def spec(name: str, emnist_split: str = "balanced") -> Spec:
    # means and standard deviations: the paper's code (utils.data_mean_std_dict); digits
    # measured on scikit-learn's 1797 images
    if name == "cifar10":
        return Spec(name, (3, 32, 32), CIFAR10_CLASSES, (0.4914, 0.4822, 0.4465),
                    (0.2023, 0.1994, 0.2010), "crop-flip", "CIFAR-10")
    if name == "svhn":
        return Spec(name, (3, 32, 32), tuple(string.digits), (0.4377, 0.4438, 0.4728),
                    (0.1980, 0.2010, 0.1970), "none", "SVHN")
    if name == "emnist":
        return Spec(name, (1, 28, 28), tuple(EMNIST_CLASSES[emnist_split]), (0.1307,), (0.3081,),
                    "none", f"EMNIST {emnist_split}")
    if name == "digits":
        return Spec(name, (1, 8, 8), tuple(string.digits), (0.3053,), (0.3759,), "none",
                    "scikit-learn digits")
    raise ValueError(name)


def default_dirs() -> list[Path]:
    """Where ``dt data fetch`` puts the files, and a plain folder beside it."""
    from dtcli.api import data_dir

    root = data_dir() / "images"
    return [root / "downloads", root]


def present(name: str, folder: Path, emnist_split: str = "balanced") -> bool:
    """Whether ``folder`` holds the files of data set ``name`` (cheap: a few stat calls)."""
    folder = Path(folder)
    if name == "cifar10":
        for sub in ("cifar-10-batches-py", "cifar-10-batches-bin", "."):
            d = folder / sub
            if (d / "test_batch").is_file() or (d / "test_batch.bin").is_file():
                return True
        return False
    if name == "svhn":
        return (folder / "test_32x32.mat").is_file()
    if name == "emnist":
        stem = f"emnist-{emnist_split}-test-images-idx3-ubyte"
        return any((d / f).is_file() for d in (folder, folder / "gzip") for f in (stem + ".gz", stem))
    return name == "digits"
