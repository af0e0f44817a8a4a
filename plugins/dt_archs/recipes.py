"""The DT-family architectures as registry entries (no torch here; ``build`` imports it)."""

from __future__ import annotations

from typing import Any

from dtcli.api import Architecture, DtError, Option

_RECALL_RELU = Option(
    "recall_relu", "reference", choices=("reference", "on", "off"),
    help="ReLU after the recall conv; 'reference' = on for 1D DT nets, off otherwise, "
         "as in the deep-thinking code",
)
_BLOCKS = Option("blocks", 2, help="residual blocks (two 3-wide convs each) per iteration")


class DTFamily(Architecture):
    """A DT net (recurrent) or its feed-forward twin, with or without recall."""

    kinds = frozenset({"sequence", "grid", "board"})
    spatial_dims = frozenset({1, 2})
    options = (_RECALL_RELU, _BLOCKS)

    def __init__(self, name: str, *, recall: bool, recurrent: bool, summary: str) -> None:
        self.name = name
        self.recall = recall
        self.recurrent = recurrent
        self.summary = summary
        self.family = "dt-recall" if recall else "dt"

    def iterations_for(self, depth: int | None, max_iters: int, options=None) -> int:
        """Effective depth = 1 (projection) + per-iteration convs x iterations + 3 (head)."""
        if depth is None:
            return max_iters
        blocks = _BLOCKS.parse((options or {}).get("blocks", _BLOCKS.default))
        per_iter = 2 * blocks + int(self.recall)
        iters, rest = divmod(depth - 4, per_iter)
        if iters < 1 or rest:
            raise DtError(f"{self.name} has effective depth 4 + {per_iter}·iterations; "
                          f"{depth} is not one of them (e.g. {4 + per_iter}, {4 + 2 * per_iter}, ...)")
        return iters

    def reference_think(self, net):
        """The deep-thinking reference's iteration (``dt bench --baseline reference``)."""
        from dt_archs.reference import reference_think

        return reference_think(net)

    def build(self, problem, *, width: int, max_iters: int, depth: int | None = None,
              recall_relu: str = "reference", blocks: int = 2, **unused: Any):
        from dt_archs.nets import DTNet, FeedForwardNet

        if width < 2:
            raise DtError(f"width must be at least 2, got {width}")
        if blocks < 1:
            raise DtError(f"blocks must be at least 1, got {blocks}")
        if recall_relu == "reference":
            # deep-thinking puts a ReLU after the 1D DT recall conv only.
            recall_relu = "on" if (problem.spatial_dims == 1 and self.recurrent) else "off"
        config = {"width": width, "max_iters": max_iters, "recall_relu": recall_relu,
                  "blocks": blocks}
        cls = DTNet if self.recurrent else FeedForwardNet
        return cls(config, dims=problem.spatial_dims, in_channels=problem.in_channels,
                   num_classes=problem.num_classes, recall=self.recall)


DT_ARCHITECTURES = (
    DTFamily("dt", recall=False, recurrent=True,
             summary="DT net: one recurrent residual block, iterated"),
    DTFamily("dt-recall", recall=True, recurrent=True,
             summary="DT net with recall: the input is concatenated to the thought each iteration"),
    DTFamily("ff", recall=False, recurrent=False,
             summary="feed-forward twin of dt: max_iters distinct blocks"),
    DTFamily("ff-recall", recall=True, recurrent=False,
             summary="feed-forward twin of dt-recall: max_iters distinct blocks, shared recall conv"),
)


_CONTRACTION = Option("contraction", 0.99,
                      help="Lipschitz bound of the recall conv; think is then at most "
                           "1 - beta*(1 - contraction)-Lipschitz in the thought (close to 1: a "
                           "contraction that still carries a bit far)")


_CONV_NORM = Option("conv_norm", "operator", choices=("operator", "strict", "spectral"),
                    help="operator (default): each recurrent conv divided by its own operator "
                         "norm, the tight contraction (trained estimate 0.94 with contraction "
                         "0.99); strict: spectral norm and 1/sqrt(k^d), a loose contraction "
                         "that learns nothing here; spectral: the paper's plain spectral norm, "
                         "NOT a contraction once trained (estimate 1.3-1.7)")


_MIX_INIT = Option("mix_init", 0.5,
                   help="initial β of every interpolation h + β(g(h) - h) (0 < β < 1): small "
                        "starts thinking close to the identity, a slow contraction")
_INIT = Option("init", "default", choices=("default", "orthogonal"),
               help="initial recurrent convs: torch's default, or delta-orthogonal (an "
                    "isometry at init, so the norm bound does not shrink the thought)")
_RECALL_NORM = Option("recall_norm", "joint", choices=("joint", "thought"),
                      help="joint: the recall conv over [thought, input] is norm-bounded as a "
                           "whole; thought: only its thought part is (the input part is free: "
                           "the contraction is in the thought only)")
_BATCH_NORM = Option("batch_norm", "on", choices=("on", "off"),
                     help="batch norm on the projection and the head (the paper's), or none")


class LipschitzFamily(Architecture):
    """DT-L: a recall DT net whose recurrent map is a contraction (see lipschitz_nets)."""

    name = "dt-l"
    summary = "Lipschitz-stable DT net (DT-L): spectral norms, ELU, interpolated updates"
    recurrent = True
    kinds = frozenset({"sequence", "grid", "board"})
    spatial_dims = frozenset({1, 2})
    options = (_BLOCKS, _CONTRACTION, _CONV_NORM, _MIX_INIT, _INIT, _BATCH_NORM, _RECALL_NORM)
    family = "dt-l"

    def build(self, problem, *, width: int, max_iters: int, depth: int | None = None,
              blocks: int = 2, contraction: float = 0.99, conv_norm: str = "operator",
              mix_init: float = 0.5, init: str = "default", batch_norm: str = "on",
              recall_norm: str = "joint", **unused: Any):
        from dt_archs.lipschitz_nets import LipschitzDTNet

        if width < 2:
            raise DtError(f"width must be at least 2, got {width}")
        if blocks < 1:
            raise DtError(f"blocks must be at least 1, got {blocks}")
        if not 0 < contraction <= 1:
            raise DtError(f"contraction must be in (0, 1], got {contraction}")
        if not 0 < mix_init < 1:
            raise DtError(f"mix_init must be in (0, 1), got {mix_init}")
        config = {"width": width, "max_iters": max_iters, "blocks": blocks,
                  "contraction": float(contraction), "conv_norm": conv_norm,
                  "mix_init": float(mix_init), "init": init, "batch_norm": batch_norm,
                  "recall_norm": recall_norm}
        return LipschitzDTNet(config, dims=problem.spatial_dims, in_channels=problem.in_channels,
                              num_classes=problem.num_classes)


LIPSCHITZ_ARCHITECTURES = (LipschitzFamily(),)
