"""Built-in problem: chess puzzles (Lichess files or dt's own generated puzzles)."""

from dtcli.api import hookimpl

from dt_chess.problem import ChessPuzzles


@hookimpl
def register_problems(register):
    register(ChessPuzzles)
