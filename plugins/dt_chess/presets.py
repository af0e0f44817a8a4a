"""Chess training presets: the reference's recipe, and one that trains on a 2-core CPU."""

PAPER = {
    "width": 512, "max_iters": 30, "alpha": 0.5, "optimizer": "sgd", "lr": 0.01,
    "momentum": 0.9, "weight_decay": 2e-4, "warmup_epochs": 10, "warmup_shape": "exp",
    "lr_decay": "step", "lr_milestones": [100, 115], "lr_factor": 0.1, "clip": None,
    "epochs": 130, "batch_size": 300, "train_count": 600_000, "val_fraction": 0.2,
    "test_count": 100_000, "test_iters": 30, "eval_batch_size": 300,
}

# Sized for a 2-core CPU and dt's generated puzzles: 1,500 of the easy ones (generate about
# 2,000 first: `dt data generate chess --count 2000`); measured: 21 s an epoch, 4.4 min in
# all, on one thread of a busy 2-core CPU.
# Chess needs far more data than this to play well: the preset shows the pipeline, not skill.
QUICK = {
    "width": 32, "max_iters": 10, "alpha": 0.5, "optimizer": "adamw", "lr": 2e-3,
    "weight_decay": 2e-4, "warmup_steps": 20, "warmup_shape": "linear",
    "lr_decay": "cosine", "clip": 1.0, "epochs": 12, "batch_size": 50, "train_count": 1500,
    "test_count": 300, "test_iters": 30, "eval_batch_size": 250,
}

PRESETS = {"quick": QUICK, "paper": PAPER}
