"""The depth-study architectures as registry entries (no torch here; ``build`` imports it).

Each is sized by its effective depth (``dt train ... --depth D``); ``iterations_for`` turns a
depth into the iterations (recurrent) or internal blocks (feed-forward) that give it:

=========  ==========================  =======================  =================
family     effective depth             depths in the paper       width (paper)
=========  ==========================  =======================  =================
mlp        2 + iterations              3..7                      200 / 500 units
convnet    3 + iterations              4..8                      64 channels
resnet     3 + 4·iterations            7, 11, 15, 19             512 channels
=========  ==========================  =======================  =================
"""

from __future__ import annotations

from typing import Any

from dtcli.api import Architecture, DtError, Option

_DILATION = Option("dilation", 1, help="dilation of the internal 3x3 convs (padding follows, "
                                       "so the map keeps its size)")

# (layers outside the internal blocks, layers per block, the paper's depths)
_DEPTH_RULES = {"mlp": (2, 1, (3, 4, 5, 6, 7)),
                "convnet": (3, 1, (4, 5, 6, 7, 8)),
                "resnet": (3, 4, (7, 11, 15, 19))}


class DepthFamily(Architecture):
    """One member of a depth-study family: recurrent or feed-forward, otherwise identical."""

    kinds = frozenset({"label"})
    spatial_dims = frozenset({0})

    def __init__(self, name: str, *, kind: str, recurrent: bool, summary: str,
                 batch_norm: bool = False, family: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.recurrent = recurrent
        self.summary = summary
        self.batch_norm = batch_norm
        self.family = family or kind
        self.options = (_DILATION,) if kind in ("convnet", "resnet") else ()
        outside, per_block, depths = _DEPTH_RULES[kind]
        self.outside, self.per_block = outside, per_block
        #: the effective depths of the paper's study (``dt study depth`` uses them by default)
        self.default_depths = depths

    def depth_of(self, iterations: int) -> int:
        return self.outside + self.per_block * iterations

    def iterations_for(self, depth: int | None, max_iters: int, options=None) -> int:
        if depth is None:
            return max_iters
        iters, rest = divmod(int(depth) - self.outside, self.per_block)
        if iters < 1 or rest:
            examples = ", ".join(str(self.depth_of(i)) for i in (1, 2, 3))
            rule = (f"{self.outside} + iterations" if self.per_block == 1
                    else f"{self.outside} + {self.per_block}·iterations")
            raise DtError(f"{self.name} has effective depth {rule}; {depth} is not one of them "
                          f"(e.g. {examples}, ...)")
        return iters

    def build(self, problem, *, width: int, max_iters: int, depth: int | None = None,
              dilation: int = 1, **unused: Any):
        from dt_archs.depth_nets import NETS

        in_shape = problem.input_shape
        if not in_shape:
            raise DtError(f"{self.name} needs the image size of {problem.name!r} "
                          f"(its problem has no input_shape)")
        if depth is not None and self.iterations_for(depth, max_iters) != max_iters:
            raise DtError(f"{self.name}: depth {depth} means {self.iterations_for(depth, 0)} "
                          f"iterations, but max_iters is {max_iters}")
        if max_iters < 1:
            raise DtError(f"{self.name} needs at least one iteration, got {max_iters}")
        if width < (2 if self.kind == "convnet" else 1):
            raise DtError(f"width {width} is too small for {self.name}")
        if dilation < 1:
            raise DtError(f"dilation must be at least 1, got {dilation}")
        config: dict[str, Any] = {"width": width, "max_iters": max_iters, "depth": depth}
        if self.kind in ("convnet", "resnet"):
            config["dilation"] = dilation
        if self.kind == "resnet":
            config["batch_norm"] = self.batch_norm
        cls = NETS[self.kind]
        return cls(config, in_shape=tuple(int(n) for n in in_shape),
                   num_classes=int(problem.num_classes), recurrent=self.recurrent)


DEPTH_ARCHITECTURES = (
    DepthFamily("recur-mlp", kind="mlp", recurrent=True,
                summary="recurrent MLP: one shared hidden layer iterated (depth = 2 + iterations)"),
    DepthFamily("mlp", kind="mlp", recurrent=False,
                summary="MLP with depth−2 distinct hidden layers (feed-forward twin of recur-mlp)"),
    DepthFamily("recur-convnet", kind="convnet", recurrent=True,
                summary="recurrent ConvNet: one shared 3x3 conv iterated (depth = 3 + iterations)"),
    DepthFamily("convnet", kind="convnet", recurrent=False,
                summary="ConvNet with depth−3 distinct internal convs (twin of recur-convnet)"),
    DepthFamily("recur-resnet", kind="resnet", recurrent=True,
                summary="recurrent ResNet: one shared 4-conv residual block (depth = 3 + 4·iterations)"),
    DepthFamily("resnet", kind="resnet", recurrent=False,
                summary="ResNet with (depth−3)/4 distinct residual blocks (twin of recur-resnet)"),
    DepthFamily("recur-resnet-bn", kind="resnet", recurrent=True, batch_norm=True,
                family="resnet-bn",
                summary="recurrent ResNet with BatchNorm, one set of norms per iteration, shared convs"),
    DepthFamily("resnet-bn", kind="resnet", recurrent=False, batch_norm=True, family="resnet-bn",
                summary="ResNet with BatchNorm after every conv (feed-forward twin of recur-resnet-bn)"),
)
