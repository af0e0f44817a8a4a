"""The prefix sums problem: given bits, output the parity of every prefix."""

from __future__ import annotations

from typing import Any

from dt_prefix_sums.render import render_bits
from dtcli.api import DtError, Problem

_PAPER = {
    "width": 400, "max_iters": 30, "alpha": 1.0, "optimizer": "adam", "lr": 1e-3,
    "weight_decay": 2e-4, "clip": 1.0, "epochs": 150, "batch_size": 100,
    "warmup_epochs": 10, "warmup_shape": "exp", "lr_decay": "step",
    "lr_milestones": [60, 100], "lr_factor": 0.1, "train_count": 10000,
    "test_difficulties": ["512"], "test_iters": 500, "test_count": 1000,
}

# Measured on 2 CPU cores: width 64 learns 32-bit prefix sums in a few hundred steps of about
# 0.3 s (when it takes off varies with the seed, hence the early stop once validation is
# solved) and then extrapolates to 512 bits by thinking for ~150-220 iterations.
_QUICK = {
    "width": 64, "max_iters": 30, "alpha": 1.0, "optimizer": "adam", "lr": 2e-3,
    "weight_decay": 2e-4, "clip": 1.0, "epochs": 22, "batch_size": 100,
    "warmup_epochs": 1, "warmup_shape": "linear", "lr_decay": "cosine",
    "stop_at": 99.9, "stop_patience": 2, "train_count": 10000, "val_fraction": 0.1,
    "test_difficulties": ["128", "512"], "test_iters": 500, "test_count": 100,
    # DT-L as described by Bear et al. (NeurIPS 2024): alpha 0.5, Adam 1e-3, weight decay on
    # the unconstrained convs only (the net exempts its constrained ones)
    "archs": {"dt-l": {"alpha": 0.5, "lr": 1e-3}},
}
_PAPER["archs"] = {"dt-l": {"alpha": 0.5, "lr": 1e-3, "weight_decay": 2e-4, "clip": None}}


class PrefixSums(Problem):
    """Prefix sums: a bit string in, its running parity out (one class per position)."""

    name = "prefix-sums"
    summary = "running parity of a bit string; difficulty = number of bits"
    kind = "sequence"
    spatial_dims = 1
    in_channels = 1
    num_classes = 2
    difficulty_unit = "bits"
    position_noun = "bits"
    default_train_difficulty = "32"
    default_test_difficulty = "512"
    data_version = 2  # 2: strings drawn in fixed blocks, so data sets are nested
    nested_data = True
    presets = {"quick": _QUICK, "paper": _PAPER}

    def generate(self, difficulty: int, count: int, seed: int):
        import torch

        from dt_prefix_sums.generate import running_parity, unique_bit_strings

        try:
            strings = unique_bit_strings(int(difficulty), count, seed)
        except ValueError as exc:
            raise DtError(str(exc)) from None
        inputs = torch.from_numpy(strings.astype("float32")).unsqueeze(1)
        targets = torch.from_numpy(running_parity(strings))
        return inputs, targets

    def render(self, inputs, prediction=None, target=None, confidence=None, probabilities=None,
               fit=None) -> Any:
        return render_bits(inputs, prediction, target, confidence, fit=fit)

    def render_image(self, inputs, prediction=None, target=None, confidence=None,
                     probabilities=None, fit=None):
        """Rows of 32 bits as cells: input, prediction (green right, red wrong), truth."""
        from dt_prefix_sums.picture import bits_image

        cpu = lambda t: None if t is None else t.detach().float().cpu().numpy()  # noqa: E731
        return bits_image(cpu(inputs), cpu(prediction), cpu(target), cpu(confidence), fit=fit)

    def parse_instance(self, text: str):
        import torch

        bits = "".join(text.split())
        if not bits or set(bits) - {"0", "1"}:
            raise DtError("a prefix-sums instance is a string of 0s and 1s, e.g. --input 0110100")
        return torch.tensor([[float(b) for b in bits]])

    def target_for(self, inputs):
        import torch

        from dt_prefix_sums.generate import running_parity

        strings = inputs.reshape(-1).round().to(torch.int64).numpy()
        return torch.from_numpy(running_parity(strings))
