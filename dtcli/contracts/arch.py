"""The Architecture contract: a named recipe that builds an :class:`~dtcli.contracts.net.IterativeNet`.

Architectures are registered as instances. This module must not import torch at module level;
``build`` imports the network code when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from dtcli.contracts.options import Option

if TYPE_CHECKING:  # pragma: no cover
    from dtcli.contracts.net import IterativeNet
    from dtcli.contracts.problem import Problem


class Architecture:
    """Base class for architectures.

    ``kinds`` lists the problem kinds (``Problem.kind``) the architecture can solve;
    ``spatial_dims`` the input dimensionalities it can be built for.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    recurrent: ClassVar[bool] = True
    kinds: ClassVar[frozenset[str]] = frozenset()
    spatial_dims: ClassVar[frozenset[int]] = frozenset({1, 2})
    #: architecture-specific options (``--arch-option NAME=VALUE``)
    options: ClassVar[tuple[Option, ...]] = ()
    #: recurrent and feed-forward twins share a family name (``dt study depth --family``)
    family: ClassVar[str] = ""
    #: the effective depths a depth study trains by default (empty: the first valid ones)
    default_depths: tuple[int, ...] = ()

    def iterations_for(self, depth: int | None, max_iters: int,
                       options: Mapping[str, Any] | None = None) -> int:
        """Training iterations for a requested effective ``depth`` (None: keep ``max_iters``).

        ``options`` are the architecture options the net will be built with (as given on the
        command line or resolved), since they can change the layers per iteration (a DT net
        with ``blocks=3``). Depth-sized architectures override this, e.g. a recurrent ResNet
        of depth 3 + 4·b iterates its block b times.
        """
        return max_iters

    def reference_think(self, net: "IterativeNet") -> Callable[..., Any] | None:
        """``think(thought, x, i)`` of ``net`` as the reference code computes it, for ``dt bench
        --baseline reference`` (the same weights; the host runs the reference's algorithm
        around it: the head at every iteration, every output kept). None (the default): this
        architecture has no reference implementation to compare with."""
        return None

    def preset(self, problem: str, name: str) -> dict[str, Any]:
        """Training settings this architecture brings to preset ``name`` of ``problem`` (by
        name), laid over the problem's own preset: an architecture from another plugin than
        the problem's can still ship a recipe that works (a transformer's learning rate, an
        NCA's width). ``"problem_options"`` may choose problem options, as in a problem's
        preset, and ``"arch_options"`` this architecture's own options (``--arch-option``
        still wins). Default: nothing (the problem's preset as it is)."""
        return {}

    def supports(self, problem: "Problem") -> str | None:
        """None when this architecture can be built for ``problem``, else the reason it cannot."""
        if problem.kind not in self.kinds:
            kinds = ", ".join(sorted(self.kinds))
            return (f"architecture {self.name!r} cannot solve {problem.name!r}: it supports "
                    f"{kinds} problems and {problem.name} is a {problem.kind} problem")
        if problem.spatial_dims not in self.spatial_dims:
            return (f"architecture {self.name!r} has no {problem.spatial_dims}D variant "
                    f"for {problem.name!r}")
        return None

    def build(self, problem: "Problem", *, width: int, max_iters: int,
              depth: int | None = None, **options: Any) -> "IterativeNet":
        """Build an untrained network for ``problem``.

        ``depth`` is the effective depth for architectures sized by it (the depth study);
        ``options`` are the resolved architecture options. The returned net's ``config`` must
        hold every keyword needed to build it again.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement build()")
