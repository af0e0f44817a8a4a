"""Looped transformers for 1D sequence problems: one weight-tied transformer block applied
again and again with the input injected at every loop; registered as ``looped-transformer``."""

from dtcli.api import hookimpl


@hookimpl
def register_architectures(register):
    from dt_looped.arch import ARCHITECTURES

    for arch in ARCHITECTURES:
        register(arch)
