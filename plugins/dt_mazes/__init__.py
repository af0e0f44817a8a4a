"""Built-in problem: mazes (the path from start to end), generated fast or imported."""

from dtcli.api import hookimpl

from dt_mazes.problem import Mazes


@hookimpl
def register_problems(register):
    register(Mazes)
