"""Built-in architectures: DT nets with and without recall and their feed-forward twins."""

from dtcli.api import hookimpl

from dt_archs.recipes import DT_ARCHITECTURES


@hookimpl
def register_architectures(register):
    for arch in DT_ARCHITECTURES:
        register(arch)
