"""Built-in problem: mazes (the path from start to end), generated fast or imported."""

from dt_mazes.problem import Mazes
from dtcli.api import hookimpl


@hookimpl
def register_problems(register):
    register(Mazes)
