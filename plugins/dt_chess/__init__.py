"""Built-in problem: chess puzzles (Lichess files or dt's own generated puzzles)."""

from dt_chess.problem import ChessPuzzles
from dtcli.api import hookimpl


@hookimpl
def register_problems(register):
    register(ChessPuzzles)
