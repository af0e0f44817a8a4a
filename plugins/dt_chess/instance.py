"""Reading one puzzle typed or stored by the user: a FEN, or a row of a Lichess CSV."""

from __future__ import annotations

import csv

import chess

from dt_chess.encoding import encode_board, encode_move, pack_state
from dtcli.api import DtError, Instance


def _problems(board: chess.Board) -> str:
    status = board.status()
    names = [flag.name.lower().replace("_", " ") for flag in chess.Status
             if flag and flag.name and status & flag]
    return ", ".join(names) or "invalid"


def parse_board(fen: str) -> chess.Board:
    """A legal position with a move to make, or a one-line :class:`DtError`."""
    try:
        board = chess.Board(fen)
    except ValueError as exc:
        raise DtError(f"not a FEN: {fen!r} ({exc})") from None
    if not board.is_valid():
        raise DtError(f"illegal position in FEN {fen!r}: {_problems(board)}")
    if not any(board.legal_moves):
        raise DtError(f"no legal move in FEN {fen!r} ("
                      f"{'checkmate' if board.is_check() else 'stalemate'})")
    return board


def parse_position(text: str):
    """(12, 8, 8) uint8 planes of the position to solve.

    ``text`` is a FEN (the position *after* the opponent's move: the side to move solves), or
    a Lichess CSV row ``PuzzleId,FEN,Moves,...`` (a header line may come first), whose FEN is
    before the opponent's move; a row's solution becomes the instance's known answer.
    """
    import torch

    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise DtError("no position given: pass a FEN, e.g. --fen "
                      "'r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3'")
    first = lines[0]
    target = None
    if "," in first:
        rows = [r for r in csv.reader(lines) if r and r[0] != "PuzzleId"]
        if not rows or len(rows[0]) < 3:
            raise DtError("a Lichess CSV row needs PuzzleId,FEN,Moves,...")
        fen, moves = rows[0][1], rows[0][2].split()
        board = parse_board(fen)
        try:
            opening = chess.Move.from_uci(moves[0])
            if not board.is_legal(opening):
                raise ValueError
            board.push(opening)
            solution = chess.Move.from_uci(moves[1]) if len(moves) > 1 else None
            if solution is not None and not board.is_legal(solution):
                raise ValueError
        except (ValueError, IndexError):
            raise DtError(f"puzzle {rows[0][0]}: its moves {' '.join(moves)!r} are not legal "
                          f"in its FEN") from None
        if not any(board.legal_moves):
            raise DtError(f"puzzle {rows[0][0]}: no legal move after {moves[0]}")
        if solution is not None:
            target = encode_move(solution, board.turn == chess.BLACK)
    else:
        board = parse_board(first)
    planes = encode_board(board)
    return Instance(torch.from_numpy(planes),
                    None if target is None else torch.from_numpy(target),
                    {"state": pack_state(board)})
