"""Reading a split of a data set, memoised for the life of the process (``dt study`` trains
many runs on the same images)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from dt_images import readers

_MEMO: "OrderedDict[tuple, tuple[np.ndarray, np.ndarray]]" = OrderedDict()
_MEMO_SIZE = 4


def _stamp(folder: Path | None) -> tuple:
    """Changes when the files change, so a memoised copy is never stale."""
    if folder is None:
        return ()
    entries = []
    for p in folder.iterdir():  # the folder and its sub-folders (cifar-10-batches-py/, gzip/)
        children = p.iterdir() if p.is_dir() else [p]
        entries += [(str(c), c.stat().st_mtime_ns, c.stat().st_size) for c in children if c.is_file()]
    return tuple(sorted(entries))


def load_split(dataset: str, folder: Path | None, split: str,
               emnist_split: str = "balanced") -> tuple[np.ndarray, np.ndarray]:
    key = (dataset, str(folder), split, emnist_split, _stamp(folder))
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    if dataset == "digits":
        data = readers.read_digits(split)
    elif dataset == "cifar10":
        data = readers.read_cifar(folder, split)
    elif dataset == "svhn":
        data = readers.read_svhn(folder, split)
    elif dataset == "emnist":
        data = readers.read_emnist(folder, split, emnist_split)
    else:
        raise ValueError(dataset)
    _MEMO[key] = data
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return data
