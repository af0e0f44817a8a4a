"""dt plugin: flood fill. Registers the ``floodfill`` problem through dt's hooks.

This module is imported by ``dt --help``: it imports only ``dtcli.api`` and the problem
class (which imports numpy and torch lazily, inside its methods).
"""

from dt_floodfill.problem import FloodFill
from dtcli.api import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_problems(register):
    register(FloodFill)
