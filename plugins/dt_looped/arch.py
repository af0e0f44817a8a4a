"""``looped-transformer`` as a registry entry (no torch here; ``build`` imports :mod:`dt_looped.net`).

What Fan et al. (ICLR 2025, "Looped Transformers for Length Generalization") describe, and
what this plugin does with it:

- **one weight-tied block, looped**: a decoder (GPT-2) block applied again and again, the
  number of loops set by the input's length (n-RASP-L: a known number of steps per length),
  supervised on the final output only. Here the block is ``think``; dt decides the loops (``--max-iters`` in
  training, ``--iters`` at test time, halting) and trains with its progressive loss (α = 0
  is the paper's final-output-only supervision).
- **input injection**: the input embedding is added to the thought before every loop:
  ``h_{t+1} = Block(h_t + E x)``. Where the paper (after Yang et al.) starts from zeros,
  thinking here starts from the embedding, ``h_0 = E x``, as a DT net starts from its
  projection: dt's random-start analyses (path independence, ``--init-thought``) draw
  random thoughts at the scale of the start thought, and a zero start has none.
- **NoPE**: the paper uses no positional encoding, and causal (decoder) attention is what
  lets such a model tell positions apart at all. ``position=none`` is that. It is **not the
  default**: a NoPE model can only locate its neighbour through counts (1/(j+1)-sized
  differences), which cannot stay sharp at the 16x longer strings dt tests prefix sums on
  (unmeasured: `dt sweep ... --arch-option position=none` against the default tells). The default,
  ``relative``, is a learned bias per head and offset (T5-like), clipped at
  ``max_distance``: any length works, and "look one position back" is one number.
  ``rope`` and ``sinusoidal`` (absolute) are there to compare.

Where the paper is silent (or dt differs), the choices:

- **attention** ``causal`` by default (the paper's decoder; a prefix sum's output at j
  depends on bits up to j only). ``bidirectional`` attention with ``position=none`` cannot
  tell positions apart at all (it is permutation-equivariant): fine for set-like problems,
  useless for prefix sums.
- **sink** (on): a learned key/value every query may attend to. It plays the part of a DT
  net's zero padding (and of a start-of-sequence token): without it the first position
  cannot tell that it has no predecessor.
- **norm** ``post`` by default: the thought is layer-normalised after every sub-layer, so it
  stays on a bounded set however long the net thinks (dt tests at hundreds of iterations);
  ``pre`` is GPT-2's (and the paper's) block, whose residual stream grows by the injected
  embedding at every loop; it gets a final norm before the head.
- the input embedding is a linear map of each position's channels (for bits the same as a
  two-token embedding table); the head a linear map per position to the classes; GELU MLP of
  ``mlp_ratio`` x width; no dropout by default.
"""

from __future__ import annotations

from typing import Any

from dtcli.api import Architecture, DtError, Option

HEADS = Option("heads", 4, help="attention heads (width must be a multiple)")
MLP_RATIO = Option("mlp_ratio", 4.0, help="hidden width of the block's MLP, as a multiple of width")
POSITION = Option("position", "relative", choices=("relative", "none", "rope", "sinusoidal"),
                  help="relative: a learned attention bias per head and offset, clipped at "
                       "max_distance (any length); none: NoPE, the paper's; rope: rotary; "
                       "sinusoidal: absolute, added to the input embedding")
MAX_DISTANCE = Option("max_distance", 8, help="position=relative: offsets farther than this "
                                              "share one bias")
ATTENTION = Option("attention", "causal", choices=("causal", "bidirectional"),
                   help="causal: position j attends to positions <= j (the paper's decoder); "
                        "bidirectional: to all (with position=none it cannot tell positions "
                        "apart)")
NORM = Option("norm", "post", choices=("post", "pre"),
              help="post: layer norm after each residual add, the thought stays bounded "
                   "however long the net thinks; pre: GPT-2's (the paper's), plus a final norm "
                   "before the head")
SINK = Option("sink", True, help="a learned key/value every query can attend to (the "
                                 "sequence's edge, as a DT net's zero padding)")
DROPOUT = Option("dropout", 0.0, help="dropout on attention weights and both residual branches")

OPTIONS = (HEADS, MLP_RATIO, POSITION, MAX_DISTANCE, ATTENTION, NORM, SINK, DROPOUT)

# Prefix sums on a 2-core CPU, not measured (the house rule for this work: no training runs).
# Based on: the problem's quick recipe for DT-recall at width 64 (measured: steps of about
# 0.3 s, solved in 22 epochs or fewer); this block at width 64 does about as many
# multiply-adds per position and iteration (12·64² + 2·L·64 against DT-recall's 5·3·64²)
# with more element-wise work (norms, softmax), so a step is guessed at 0.4-0.8 s and 20
# epochs of 90 steps at 12-24 minutes, plus the tests. max_iters 32: the paper's loops grow
# with the length, and a block that reads one position back needs n loops for n bits; the
# tests go to 600 iterations for 512 bits for the same reason. AdamW, a lower learning rate
# and a linear warm-up: the usual small-transformer recipe (not taken from the paper).
_QUICK = {"width": 64, "max_iters": 32, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01,
          "warmup_epochs": 2, "warmup_shape": "linear", "epochs": 20, "test_iters": 600}
_PAPER = {"max_iters": 32, "optimizer": "adamw", "weight_decay": 0.01, "test_iters": 600}


class LoopedTransformer(Architecture):
    """Looped transformer (Fan et al., 2024): one weight-tied transformer block, looped, with
    the input embedding injected before every loop. See the module docstring for what the
    paper describes and what was chosen where it is silent."""

    name = "looped-transformer"
    summary = ("looped transformer (Fan et al. 2024): one weight-tied attention+MLP block, "
               "input embedding injected every loop")
    recurrent = True
    kinds = frozenset({"sequence"})
    spatial_dims = frozenset({1})
    options = OPTIONS
    family = "looped-transformer"

    def iterations_for(self, depth: int | None, max_iters: int, options=None) -> int:
        """Effective depth = 1 (embedding) + 2 (attention, MLP) x loops + 1 (head)."""
        if depth is None:
            return max_iters
        iters, rest = divmod(depth - 2, 2)
        if iters < 1 or rest:
            raise DtError(f"{self.name} has effective depth 2 + 2·loops; {depth} is not one of "
                          "them (e.g. 4, 6, 8, ...)")
        return iters

    def preset(self, problem: str, name: str) -> dict[str, Any]:
        if problem != "prefix-sums":
            return {}
        return dict(_QUICK if name == "quick" else _PAPER if name == "paper" else {})

    def build(self, problem, *, width: int, max_iters: int, depth: int | None = None,
              heads: int = 4, mlp_ratio: float = 4.0, position: str = "relative",
              max_distance: int = 8, attention: str = "causal", norm: str = "post",
              sink: bool = True, dropout: float = 0.0, **unused: Any):
        from dt_looped.net import LoopedTransformerNet

        if heads < 1:
            raise DtError(f"heads must be at least 1, got {heads}")
        if width < 1 or width % heads:
            raise DtError(f"width {width} is not a multiple of heads={heads}; choose a width "
                          f"divisible by {heads} or set --arch-option heads=N")
        if position == "rope" and (width // heads) % 2:
            raise DtError(f"position=rope needs an even width per head; width {width} / "
                          f"heads {heads} = {width // heads}")
        if not mlp_ratio > 0:
            raise DtError(f"mlp_ratio must be positive, got {mlp_ratio}")
        if max_distance < 1:
            raise DtError(f"max_distance must be at least 1, got {max_distance}")
        if not 0 <= dropout < 1:
            raise DtError(f"dropout must be in [0, 1), got {dropout}")
        config = {"width": int(width), "max_iters": int(max_iters), "heads": int(heads),
                  "mlp_ratio": float(mlp_ratio), "position": position,
                  "max_distance": int(max_distance), "attention": attention, "norm": norm,
                  "sink": bool(sink), "dropout": float(dropout)}
        return LoopedTransformerNet(config, in_channels=problem.in_channels,
                                    num_classes=problem.num_classes)


ARCHITECTURES = (LoopedTransformer(),)
