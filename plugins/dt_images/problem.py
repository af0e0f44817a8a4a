"""The images problem: one label per image (CIFAR-10, SVHN, EMNIST, scikit-learn's digits).

Data choice: :meth:`Images.dataset` returns **normalised float32** tensors (per-channel mean and
standard deviation of the data set, as the paper's code), so training, validation, testing and
``dt solve`` all see the same inputs, and ``augment`` (training only) crops and flips them in
place. The files are read again for every process (a second or two for CIFAR-10) and kept in
memory for the next run of the same process (``dt study``); they are not copied into dt's cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dt_images import datasets as ds
from dt_images.presets import PRESETS, for_dataset
from dtcli.api import DtError, Option, Problem, split_seed

AUGMENTS = ("auto", "none", "crop", "flip", "crop-flip")
STANDARD = "standard"
MAX_GROUPS = 20  # per-class accuracy in `dt test` for data sets with at most this many classes


class Images(Problem):
    """Image classification; the data set is the option ``-o dataset=...``."""

    name = "images"
    summary = ("image classification: CIFAR-10, SVHN, EMNIST or scikit-learn's digits "
               "(-o dataset=...; digits when no other data is present)")
    kind = "label"
    spatial_dims = 0
    in_channels = 1
    num_classes = 10
    difficulty_unit = "set"
    default_train_difficulty = STANDARD
    default_test_difficulty = STANDARD
    fetchable = ("cifar10", "svhn", "emnist")
    presets = PRESETS
    options = (
        Option("dataset", "auto", choices=("auto", *ds.DATASETS),
               help="digits (8x8, bundled with scikit-learn), cifar10, svhn or emnist; auto: "
                    "the first of cifar10, svhn, emnist found in data_dir, else digits"),
        Option("data_dir", "", help="folder with the data set's files (default: where "
                                    "`dt data fetch` puts them, $DT_HOME/data/images/downloads)",
               affects_data=False),
        Option("emnist_split", "balanced", choices=("balanced", "byclass", "bymerge", "digits",
                                                    "letters", "mnist"),
               help="EMNIST split (balanced: 47 classes, as the paper)"),
        Option("normalize", True, help="subtract the per-channel mean, divide by the std"),
        Option("augment", "auto", choices=AUGMENTS, affects_data=False,
               help="train-time augmentation: random crop (zero padding of 1/8 of the side) "
                    "and/or horizontal flip; auto: crop-flip for CIFAR-10, none otherwise"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        opts = self.option_values
        if opts["dataset"] == "auto":
            opts["dataset"] = self._auto_dataset()
        self.spec = ds.spec(opts["dataset"], opts["emnist_split"])
        # instance attributes: they depend on the data set
        self.in_channels = self.spec.shape[0]
        self.num_classes = len(self.spec.classes)
        self.input_shape = self.spec.shape
        self.class_names = list(self.spec.classes)

    # -- where the files are ---------------------------------------------------------------

    def folders(self) -> list[Path]:
        given = self.option_values["data_dir"]
        return [Path(given).expanduser()] if given else ds.default_dirs()

    def _auto_dataset(self) -> str:
        for name in ds.AUTO_ORDER:
            if any(ds.present(name, f, self.option_values["emnist_split"]) for f in self.folders()):
                return name
        return "digits"

    def folder(self) -> Path:
        name = self.option_values["dataset"]
        for f in self.folders():
            if ds.present(name, f, self.option_values["emnist_split"]):
                return f
        where = " or ".join(str(f) for f in self.folders())
        raise DtError(f"no {self.spec.title} files in {where}; `dt data fetch {name}` downloads "
                      f"them, or pass -o data_dir=FOLDER")

    @property
    def dataset_name(self) -> str:
        return self.option_values["dataset"]

    # -- difficulty and data ---------------------------------------------------------------

    def parse_difficulty(self, text: str | int) -> str:
        value = str(text).strip().lower()
        if value not in (STANDARD, "std"):
            raise DtError(f"images has one difficulty, 'standard' (the data set's own train/test "
                          f"split); choose the data set with -o dataset=..., got {text!r}")
        return STANDARD

    def describe_difficulty(self, difficulty: Any) -> str:
        return self.spec.title

    def load(self, split: str):
        """All images and labels of ``split`` as numpy arrays (uint8 images), memoised."""
        from dt_images.loading import load_split

        folder = None if self.dataset_name == "digits" else self.folder()
        return load_split(self.dataset_name, folder, split, self.option_values["emnist_split"])

    def indices(self, split: str, count: int, seed: int):
        """Which images a data set of ``count`` holds: all of them, or a seeded random subset."""
        import numpy as np

        images, _ = self.load(split)
        n = len(images)
        if count >= n:
            return np.arange(n)
        rng = np.random.default_rng([int(seed), 0 if split == "train" else 1])
        return np.sort(rng.permutation(n)[:count])

    #: read from the data set's own files (or the bundled digits), which is quick
    cache_data = False

    def make_data(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """Normalised float32 ``(N, C, H, W)`` images and int64 labels."""
        import torch

        self.parse_difficulty(difficulty)
        images, labels = self.load(split)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise DtError(f"{self.spec.title} {split} labels run from {labels.min()} to "
                          f"{labels.max()}, but it has {self.num_classes} classes")
        idx = self.indices(split, count, seed)
        x = torch.from_numpy(images[idx]).float().div_(255.0)
        if self.option_values["normalize"]:
            mean = torch.tensor(self.spec.mean).view(1, -1, 1, 1)
            std = torch.tensor(self.spec.std).view(1, -1, 1, 1)
            x = (x - mean) / std
        return {"inputs": x.contiguous(), "targets": torch.from_numpy(labels[idx]).long()}

    def groups(self, split: str, difficulty: Any, count: int, seed: int):
        """Per-class accuracy in ``dt test`` (for data sets with up to 20 classes)."""
        import torch

        if self.num_classes > MAX_GROUPS:
            return None
        _, labels = self.load(split)
        idx = self.indices(split, count, split_seed(seed, split))
        return list(self.class_names), torch.from_numpy(labels[idx]).long()

    def generate_files(self, count: int, seed: int, out: Path | None,
                       progress: Callable[[int, int], None]) -> dict[str, Any] | None:
        """``dt data generate images``: nothing to generate; say what the data set holds."""
        train, test = self.load("train"), self.load("test")
        progress(count, count)
        return {"dataset": self.spec.title, "folder": str(self.folder()) if self.dataset_name != "digits" else "scikit-learn",
                "train": len(train[0]), "test": len(test[0]),
                "shape": "x".join(map(str, self.input_shape)), "classes": self.num_classes}

    def fetch(self, name: str, dest: Path, progress) -> list[Path]:
        from dt_images.fetch import fetch

        return fetch(name, dest, progress)

    # -- training --------------------------------------------------------------------------

    @property
    def augment_mode(self) -> str:
        mode = self.option_values["augment"]
        return self.spec.augment if mode == "auto" else mode

    def black(self):
        """The value of a black pixel per channel, as the data are stored (the crop padding)."""
        import torch

        if not self.option_values["normalize"]:
            return torch.zeros(self.in_channels)
        return -torch.tensor(self.spec.mean) / torch.tensor(self.spec.std)

    def augment(self, inputs, targets, generator):
        """Random crop (zero padding of 1/8 of the side, 4 pixels on CIFAR) and/or horizontal
        flip, per image, drawing only from ``generator``."""
        from dt_images.augment import random_crop, random_flip

        mode = self.augment_mode
        if mode == "none":
            return inputs, targets
        x = inputs
        if "crop" in mode:
            pad = max(1, x.shape[-1] // 8)
            x = random_crop(x, pad, self.black(), generator)
        if "flip" in mode:
            x = random_flip(x, generator)
        return x, targets

    def preset(self, name: str, arch: str) -> dict[str, Any]:
        """The preset for ``arch``, then the data set's adjustments (the paper's MLP widths,
        a shorter schedule on the large sets in ``quick``)."""
        return for_dataset(name, self.dataset_name, arch, super().preset(name, arch))

    # -- presentation ----------------------------------------------------------------------

    def render(self, inputs, prediction=None, target=None, confidence=None, probabilities=None,
               fit=None):
        from dt_images.render import render_image

        as_np = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
        return render_image(as_np(inputs), self.class_names, self.spec.mean, self.spec.std,
                            self.option_values["normalize"], prediction=as_np(prediction),
                            target=as_np(target), probabilities=as_np(probabilities), fit=fit)
