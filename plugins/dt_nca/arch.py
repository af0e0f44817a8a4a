"""The ``nca`` architecture: a neural cellular automaton for 2D grid problems (mazes).

What the papers describe
------------------------
*Growing Neural Cellular Automata* (Mordvintsev et al., Distill 2020): every cell of a grid
holds a state of C = 16 channels; one step perceives the 3x3 neighbourhood with fixed
depthwise filters (identity, Sobel x, Sobel y: 3C = 48 numbers per cell), passes that through
a per-cell MLP (1x1 convs, 128 hidden units, ReLU) whose last layer starts at zero (a
"do-nothing" rule at initialisation, ~8K parameters), and adds the result to the state
(residual). Cells update stochastically: each fires with probability 0.5 per step, so no
global clock is needed. (Its "alive" masking is for growing from a seed and has no role here.)

NCAs for mazes (Etcheverry et al., 2026, known to us from a secondary account; an independent
re-implementation, ash9241/nca-go, reached 99% of 59x59 and 67% of 201x201 mazes; see also
Earle et al., 2023, *Pathfinding Neural Cellular Automata*, which feeds the maze to the cells
at every step): ~10K-parameter NCAs trained on small mazes that solve much larger ones by
running longer.

What was chosen where they are silent
-------------------------------------
* The state is dt's *thought*: ``(B, width, H, W)``, one cell per maze pixel, ``width`` = C
  (the ``--width`` setting); the mazes preset uses 16, Growing NCA's C.
* Perception (option ``perception``): ``fixed`` (default) is identity + Sobel x / 8 + Sobel
  y / 8 + the 5-point Laplacian (the 4-neighbourhood a maze step moves in), depthwise, 4C
  channels; ``depthwise`` learns four 3x3 filters per channel; ``full`` learns a full 3x3 conv
  C -> 4C. Zero padding (a grid has edges; the world of Growing NCA wraps around).
* The input is injected at every iteration, as DT-recall's recall: the cell's own input
  pixel is concatenated to its perception before the MLP (the neighbours' inputs reach a cell
  through their states).
* The per-cell MLP: 1x1 conv (4C + in_channels -> ``hidden``, with bias), ReLU, 1x1 conv
  (``hidden`` -> C, no bias, zero-initialised as in Growing NCA); the state update is
  residual, with no normalisation and no clipping of the state.
* Stochastic updates (option ``fire_rate``): in training each cell applies its update with
  probability ``fire_rate`` (drawn from torch's RNG, so a resumed run replays it exactly); in
  evaluation every cell applies ``fire_rate`` times its update, the expected update, so
  testing, halting, solving and the analyses are deterministic and reproducible. The default
  is 1 (every cell updates every iteration, deterministic in training too): a maze is solved
  by propagating information across it, and a synchronous update does so fastest.
* The start thought (option ``start``): ``project`` (default) is a learned 1x1 conv of the
  input, a cellular version of a DT net's projection; ``zeros`` starts every cell at zero.
* The head: one 1x1 conv from the state to the problem's classes (a linear read-out of each
  cell).
* Effective depth: perception and the first 1x1 conv compose into one linear map, so an
  iteration is two layers; the projection (if any) and the head are one each.

At width 16 and 128 hidden units (the defaults of the mazes preset) the net has 10,850
parameters on mazes (3 input channels, 2 classes).
"""

from __future__ import annotations

from typing import Any

from dtcli.api import Architecture, DtError, Option

PERCEPTIONS = ("fixed", "depthwise", "full")
STARTS = ("project", "zeros")

_PERCEPTION = Option("perception", "fixed", choices=PERCEPTIONS,
                     help="3x3 perception: fixed (identity, Sobel x/y, Laplacian, depthwise), "
                          "depthwise (four learned 3x3 filters per channel) or full (a learned "
                          "3x3 conv, width -> 4 x width)")
_HIDDEN = Option("hidden", 128, help="hidden units of the per-cell MLP (1x1 convs)")
_FIRE_RATE = Option("fire_rate", 1.0,
                    help="probability a cell updates at a training iteration (Growing NCA: "
                         "0.5); evaluation applies the expected update, deterministically")
_START = Option("start", "project", choices=STARTS,
                help="start thought: project (a learned 1x1 conv of the input) or zeros")

#: training settings the NCA brings to the mazes presets, over the problem's own (unmeasured:
#: see NCAArchitecture.preset)
MAZES_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"width": 16, "max_iters": 48, "lr": 2e-3, "epochs": 3, "batch_size": 32,
              "train_count": 20000, "test_iters": 300},
    "paper": {"width": 16, "max_iters": 96, "lr": 2e-3, "throttle": False,
              "test_iters": 1000},
}


class NCAArchitecture(Architecture):
    """A neural cellular automaton: 3x3 perception, per-cell MLP, residual (stochastic)
    update, the input injected at every iteration (see the module docstring)."""

    name = "nca"
    summary = ("neural cellular automaton: 3x3 perception + per-cell MLP (1x1 convs), "
               "residual update, input at every iteration; ~10K parameters at width 16")
    recurrent = True
    kinds = frozenset({"grid"})
    spatial_dims = frozenset({2})
    options = (_PERCEPTION, _HIDDEN, _FIRE_RATE, _START)
    family = "nca"

    def preset(self, problem: str, name: str) -> dict[str, Any]:
        """Mazes: width 16 (~10K parameters) and four times DT-recall's iterations (an NCA
        iteration sees one pixel further, a DT-recall iteration's five 3x3 convs up to five),
        Adam(W) at 2e-3 as NCAs are usually trained; everything else is the problem's preset.

        ``quick`` is unmeasured: it is sized from the mazes quick preset (DT-recall width 32,
        12 iterations, 3 epochs of 25,000 size-9 mazes, a few minutes on 2 CPU cores). An NCA
        iteration at width 16 is ~4x fewer multiply-adds per cell than DT-recall's at width 32
        (~11K vs ~47K) but moves about as many numbers through memory, so 48 iterations on
        20,000 mazes are expected to cost ~3x the DT-recall recipe: well within 30 minutes.
        ``paper`` (GPU, e2h layout: 2x upscaled mazes) doubles the iterations again."""
        if problem == "mazes":
            return dict(MAZES_PRESETS.get(name, {}))
        return {}

    def build(self, problem, *, width: int, max_iters: int, depth: int | None = None,
              perception: str = "fixed", hidden: int = 128, fire_rate: float = 1.0,
              start: str = "project", **unused: Any):
        from dt_nca.net import NCANet

        if width < 1:
            raise DtError(f"width (the NCA's state channels) must be at least 1, got {width}")
        if hidden < 1:
            raise DtError(f"hidden must be at least 1, got {hidden}")
        if not 0 < fire_rate <= 1:
            raise DtError(f"fire_rate must be in (0, 1], got {fire_rate}")
        if perception not in PERCEPTIONS:
            raise DtError(f"perception must be one of {', '.join(PERCEPTIONS)}, got {perception!r}")
        if start not in STARTS:
            raise DtError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
        config = {"width": width, "max_iters": max_iters, "perception": perception,
                  "hidden": hidden, "fire_rate": float(fire_rate), "start": start}
        return NCANet(config, in_channels=problem.in_channels, num_classes=problem.num_classes)


ARCHITECTURES = (NCAArchitecture(),)
