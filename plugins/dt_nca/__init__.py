"""Neural cellular automata (NCA) for 2D grid problems: a per-cell update from a 3x3
perception through a small per-cell MLP, iterated; registered as the architecture ``nca``."""

from dtcli.api import hookimpl


@hookimpl
def register_architectures(register):
    from dt_nca.arch import ARCHITECTURES

    for arch in ARCHITECTURES:
        register(arch)
