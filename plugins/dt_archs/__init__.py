"""Built-in architectures: DT nets with and without recall and their feed-forward twins, and
the depth-study families (MLP, ConvNet, ResNet, recurrent and feed-forward)."""

from dt_archs.depth_recipes import DEPTH_ARCHITECTURES
from dt_archs.recipes import DT_ARCHITECTURES, LIPSCHITZ_ARCHITECTURES
from dtcli.api import hookimpl


@hookimpl
def register_architectures(register):
    for arch in (*DT_ARCHITECTURES, *LIPSCHITZ_ARCHITECTURES, *DEPTH_ARCHITECTURES):
        register(arch)
