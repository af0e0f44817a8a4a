"""Two rules that need no training, scored on the same puzzles as a model (``dt test``).

A net that loses to a one-line rule is no evidence that thinking helps, so ``dt test`` prints,
beside the model's exact best-move rate, what these rules get:

- ``random legal move``: a uniformly random legal move;
- ``greedy 1-ply`` (the one-ply heuristic): mate in one if there is one, else the most valuable
  capture (MVV: queen 9, rook 5, bishop and knight 3, pawn 1, en passant a pawn; ties broken by
  the least valuable attacker, LVA), else any legal move.

(Names of a few short words, so that the columns of ``dt test``'s table wrap in 80 columns.)

Each rule ends in a set of equally good candidate moves and picks one of them uniformly at
random; a puzzle's score is the exact probability that the pick is the solution (the share of
the candidates that are), not a sample, so the figures are deterministic and have no sampling
noise. A candidate is "the solution" by the model's own measure: its from and to squares are the
solution's (an under-promotion onto the solution's squares counts, as it does for the net).
"""

from __future__ import annotations

from typing import Callable

import chess

#: the material values that rank captures (the king is never captured)
VALUES = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9,
          chess.KING: 0}


def random_candidates(board: chess.Board) -> list[chess.Move]:
    """Every legal move: the random rule picks one of them."""
    return list(board.legal_moves)


def _mates(board: chess.Board, move: chess.Move) -> bool:
    if not board.gives_check(move):  # cheap filter: a mate is a check
        return False
    board.push(move)
    try:
        return board.is_checkmate()
    finally:
        board.pop()


def victim_value(board: chess.Board, move: chess.Move) -> int:
    """The material a capture wins (en passant: a pawn)."""
    if board.is_en_passant(move):
        return VALUES[chess.PAWN]
    return VALUES[board.piece_type_at(move.to_square)]


def one_ply_candidates(board: chess.Board) -> tuple[str, list[chess.Move]]:
    """``(why, moves)``: the mating moves (``"mate"``), else the captures of the most valuable
    piece by the least valuable attacker (``"capture"``), else every legal move (``"any"``)."""
    moves = list(board.legal_moves)
    mates = [m for m in moves if _mates(board, m)]
    if mates:
        return "mate", mates
    captures = [m for m in moves if board.is_capture(m)]
    if captures:
        rank = {m: (victim_value(board, m), -VALUES[board.piece_type_at(m.from_square)])
                for m in captures}
        top = max(rank.values())
        return "capture", [m for m in captures if rank[m] == top]
    return "any", moves


def solve_rate(candidates: list[chess.Move], solution: frozenset[int]) -> float:
    """The probability that a uniform pick among ``candidates`` has the solution's squares."""
    if not candidates:
        return 0.0
    hits = sum(1 for m in candidates if {m.from_square, m.to_square} == solution)
    return hits / len(candidates)


#: the rules ``dt test`` reports, in its column order
RULES: dict[str, Callable[[chess.Board], list[chess.Move]]] = {
    "random legal move": random_candidates,
    "greedy 1-ply": lambda board: one_ply_candidates(board)[1],
}


def puzzle_baselines(inputs, targets, states=None) -> dict:
    """``{rule: float tensor (N,)}``: each puzzle's probability of being solved by each rule.

    ``inputs`` (N, 12, 8, 8) and ``targets`` (N, 8, 8) are the data set's tensors; ``states``
    (N,) the packed side to move, castling rights and en-passant file (see
    :func:`encoding.pack_state`) that make the real position, castling and en passant included.
    Without them the frame position is used (the mover as White, castling where king and rook
    stand at home, no en passant), as the model's legal-move decoder does.
    """
    import numpy as np
    import torch

    from dt_chess.encoding import frame_board, frame_square, piece_codes, real_board

    codes = piece_codes(inputs)
    squares = torch.as_tensor(targets).reshape(len(codes), 64).cpu().numpy()
    out = {name: np.zeros(len(codes), dtype=np.float64) for name in RULES}
    for i, code in enumerate(codes):
        state = None if states is None else int(states[i])
        try:
            board = frame_board(code) if state is None else real_board(code, state)
        except (ValueError, IndexError):  # planes that are no position: no rule solves them
            continue
        black = state is not None and bool(state & 1)
        solution = frozenset(frame_square(int(s), black) for s in np.flatnonzero(squares[i]))
        if len(solution) != 2:
            continue
        for name, rule in RULES.items():
            out[name][i] = solve_rate(rule(board), solution)
    return {name: torch.from_numpy(v) for name, v in out.items()}
