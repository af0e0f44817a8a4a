"""Maze training presets: the reference's recipe, and one that trains on a laptop CPU."""

PAPER = {
    "problem_options": {"layout": "e2h"},
    "width": 128, "max_iters": 30, "alpha": 0.01, "optimizer": "adam", "lr": 1e-3,
    "weight_decay": 2e-4, "throttle": True, "warmup_epochs": 10, "warmup_shape": "exp",
    "lr_decay": "step", "lr_milestones": [100], "lr_factor": 0.1, "clip": None,
    "epochs": 50, "batch_size": 50, "train_count": 50000, "val_fraction": 0.2,
    "test_difficulties": ["33", "59"], "test_iters": 300, "test_count": 1000,
    "eval_batch_size": 25,
}

# Chosen by measurement on 2 CPU cores (see the notes): the compact layout, a width-32
# DT-recall net, and the progressive loss alone (alpha 1), which skips the full unroll and makes
# a step ~3x cheaper than alpha 0.5, so three epochs fit. max_iters 12 is just enough to solve
# size-9 mazes, so bigger mazes visibly need more thinking (size 13: ~89% at 12 iterations,
# ~99% by ~30; size 21: ~30% -> ~80%).
QUICK = {
    "problem_options": {"layout": "compact"},
    "width": 32, "max_iters": 12, "alpha": 1.0, "optimizer": "adamw", "lr": 1e-3,
    "weight_decay": 2e-4, "throttle": False, "warmup_steps": 100, "warmup_shape": "linear",
    "lr_decay": "cosine", "clip": 1.0, "epochs": 3, "batch_size": 32, "train_count": 25000,
    "test_difficulties": ["13", "21"], "test_iters": 200, "test_count": 200,
    "eval_batch_size": 100,
}

# DT-L (Bear et al., NeurIPS 2024): alpha 0.5, Adam 1e-3, weight decay 2e-4 on the
# unconstrained convs only (the net exempts its constrained ones), warm-up, step decay.
QUICK["archs"] = {"dt-l": {"alpha": 0.5, "optimizer": "adam"}}
PAPER["archs"] = {"dt-l": {"alpha": 0.5, "throttle": False, "lr_milestones": [30, 40]}}

PRESETS = {"quick": QUICK, "paper": PAPER}
