"""Forced mates with python-chess alone: the puzzle generator when no Stockfish is found.

A random sparse position is set up with the opponent to move, the opponent plays a random
legal move, and the position after it becomes a puzzle when the side to move has exactly one
move that mates in one, or (with no mate in one) exactly one first move that forces mate in
two. Exactly one, so that the target names the only answer. The mate-in-two search runs only
where the defending king has at most two free squares.
"""

from __future__ import annotations

import random

import chess

_OFFICERS = (chess.QUEEN, chess.ROOK, chess.ROOK, chess.BISHOP, chess.BISHOP, chess.KNIGHT,
             chess.KNIGHT)


def mating_moves(board: chess.Board, limit: int = 2) -> list[chess.Move]:
    """Up to ``limit`` moves that checkmate at once."""
    found = []
    for move in board.legal_moves:
        if board.gives_check(move):
            board.push(move)
            mate = board.is_checkmate()
            board.pop()
            if mate:
                found.append(move)
                if len(found) >= limit:
                    break
    return found


def _every_reply_allows_mate(board: chess.Board) -> chess.Move | None:
    """With the defender to move: a reply line (reply, mate) if every reply can be mated at
    once, else None. The reply returned is the first legal one, for the puzzle line."""
    line = None
    replies = list(board.legal_moves)
    if not replies:
        return None
    for reply in replies:
        board.push(reply)
        mates = mating_moves(board, limit=1)
        board.pop()
        if not mates:
            return None
        if line is None:
            line = (reply, mates[0])
    return line


def mate_in_two(board: chess.Board) -> tuple[list[chess.Move], tuple | None]:
    """First moves (up to two) that force mate in two, and the line of the first one."""
    firsts, line = [], None
    for move in board.legal_moves:
        board.push(move)
        answer = None if board.is_game_over() else _every_reply_allows_mate(board)
        board.pop()
        if answer is not None:
            firsts.append(move)
            line = line or answer
            if len(firsts) > 1:
                break
    return firsts, line


def king_room(board: chess.Board) -> int:
    """Legal king moves the defender (not to move) would have if it were its turn."""
    probe = board.copy(stack=False)
    probe.push(chess.Move.null())
    king = probe.king(probe.turn)
    return sum(1 for move in probe.legal_moves if move.from_square == king)


def random_position(rng: random.Random) -> chess.Board:
    """A legal sparse position, the future defender to move: kings, a few officers and pawns."""
    while True:
        board = chess.Board(None)
        attacker = rng.choice((chess.WHITE, chess.BLACK))
        squares = rng.sample(chess.SQUARES, 64)
        board.set_piece_at(squares.pop(), chess.Piece(chess.KING, attacker))
        board.set_piece_at(squares.pop(), chess.Piece(chess.KING, not attacker))
        for color, officers in ((attacker, rng.randint(2, 5)), (not attacker, rng.randint(1, 5))):
            for piece_type in rng.sample(_OFFICERS, officers):
                board.set_piece_at(squares.pop(), chess.Piece(piece_type, color))
            for _ in range(rng.randint(0, 4)):
                square = squares.pop()
                if chess.A2 <= square <= chess.H7:
                    board.set_piece_at(square, chess.Piece(chess.PAWN, color))
        board.turn = not attacker
        if board.is_valid() and not board.is_game_over():
            return board


def find_puzzle(rng: random.Random) -> tuple[chess.Board, list[chess.Move], int] | None:
    """One attempt: ``(position before the opponent's move, line, mate depth)`` or None."""
    start = random_position(rng)
    board = start.copy()
    first = rng.choice(list(board.legal_moves))
    board.push(first)
    if board.is_game_over():
        return None
    mates = mating_moves(board)
    if len(mates) == 1:
        return start, [first, mates[0]], 1
    if mates:
        return None
    # nearly all unique mates in two come with the defending king on at most two free squares;
    # searching only those positions makes the search several times cheaper
    if not board.is_check() and king_room(board) > 2:
        return None
    firsts, line = mate_in_two(board)
    if len(firsts) == 1 and line is not None:
        return start, [first, firsts[0], *line], 2
    return None
