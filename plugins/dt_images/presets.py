"""Image-classification presets: ``quick`` (a 2-core CPU, minutes, tuned on digits) and
``paper`` (the ICLR 2022 paper's code: SGD, 200 epochs, its learning rates and widths).

Both train with a plain loss at the last iteration (α = 0), as the paper. A preset's size
(``max_iters``) is a default only: ``--depth`` picks the effective depth. Settings that depend on
the data set (the paper's MLP widths, a shorter schedule for the large sets in ``quick``) are in
``BY_DATASET[preset][dataset]``, applied after the per-architecture ones.
"""

from __future__ import annotations

ALL = 10**9  # "every image there is": a data set's size caps its count

_MLP = ("mlp", "recur-mlp")
_CONV = ("convnet", "recur-convnet")
_RES = ("resnet", "recur-resnet", "resnet-bn", "recur-resnet-bn")


def _each(names, **values):
    return {n: dict(values) for n in names}


# Measured on 2 CPU cores (digits, 1150 training images): one epoch of a depth-8 ConvNet takes
# about 0.5 s, of a width-64 depth-11 ResNet about 2 s.
QUICK = {
    "alpha": 0.0, "optimizer": "adam", "lr": 2e-3, "weight_decay": 0.0,
    "warmup_steps": 20, "warmup_shape": "linear", "lr_decay": "cosine", "clip": 2.0,
    "epochs": 20, "batch_size": 50, "train_count": ALL, "val_fraction": 0.2,
    "test_count": ALL, "eval_batch_size": 500,
    "archs": {
        **_each(_MLP, width=200, max_iters=3),
        **_each(_CONV, width=64, max_iters=3),
        **_each(_RES, width=64, max_iters=2, epochs=10),
    },
}

# The paper's launch scripts (SGD, momentum 0.9, weight decay 2e-4, batch 128, five epochs of
# exponential warm-up, step decay by 10x), CIFAR-10 learning rates; others in BY_DATASET.
PAPER = {
    "alpha": 0.0, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 2e-4,
    "warmup_epochs": 5, "warmup_shape": "exp", "lr_decay": "step", "lr_factor": 0.1,
    "epochs": 200, "batch_size": 128, "train_count": ALL, "val_fraction": 0.0,
    "test_count": ALL, "eval_batch_size": 500, "clip": None,
    "archs": {
        **_each(_MLP, width=200, max_iters=3, lr=0.01, lr_milestones=[100, 150]),
        "convnet": {"width": 64, "max_iters": 3, "lr": 0.05, "lr_milestones": [50, 100, 150]},
        "recur-convnet": {"width": 64, "max_iters": 3, "lr": 0.01, "lr_milestones": [50, 100, 150]},
        # the paper drops the recurrent ResNet's lr to 0.01 at depth 19 (--lr 0.01 there)
        **_each(_RES, width=512, max_iters=2, lr=0.1, lr_milestones=[100, 150, 175]),
    },
}

# The large data sets on a CPU: a subset and a short schedule, so `quick` stays minutes.
_QUICK_LARGE = {"train_count": 5000, "test_count": 1000, "epochs": 5,
                "archs": _each(_RES, epochs=3)}

BY_DATASET = {
    "quick": {"cifar10": _QUICK_LARGE, "svhn": _QUICK_LARGE, "emnist": _QUICK_LARGE},
    "paper": {
        # the paper's code also flips SVHN and EMNIST images (RandomHorizontalFlip for all)
        "svhn": {"problem_options": {"augment": "flip"},
                 "archs": {**_each(_MLP, width=500, epochs=150, lr_milestones=[50, 125]),
                           "recur-convnet": {"lr": 0.05}}},
        "emnist": {"problem_options": {"augment": "flip"},
                   "archs": {**_each(_MLP, width=500, epochs=150, lr_milestones=[100, 150]),
                             **_each(_CONV, width=128),
                             **_each(_RES, lr_milestones=[50, 150, 175])}},
    },
}

PRESETS = {"quick": QUICK, "paper": PAPER}


def for_dataset(preset: str, dataset: str, arch: str, values: dict) -> dict:
    """``values`` (a preset resolved for ``arch``) with the data set's adjustments applied."""
    extra = BY_DATASET.get(preset, {}).get(dataset)
    if not extra:
        return values
    out = dict(values)
    for key, value in extra.items():
        if key == "archs":
            continue
        if key == "problem_options":
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    out.update(extra.get("archs", {}).get(arch, {}))
    return out
