"""Positions and moves as tensors, as the reference (easy-to-hard-data's ``make_chess.py`` with
deep-thinking's ``FlippedChessPuzzleDataset``), and back.

The input is 12 planes of 8x8: the side to move's king, queen, bishop, knight, rook and pawns,
then the opponent's, in that order; row = rank (rank 1 is row 0), column = file (file a is
column 0). When Black is to move the ranks are mirrored (row = 7 - rank), so the side to move
always plays *up* the board and its king starts on the right, as White's does. The target marks
the from and to squares of the solution move in the same frame.

The planes do not say who moves, which castling rights remain or whether an en-passant capture
is possible. Where dt knows them (a dataset row, a FEN typed by the user) it keeps them in a
small integer "state" so the real position can be drawn; decoding from the planes alone yields
the *frame* position: the side to move shown as White, castling allowed where king and rook
stand on their home squares, no en passant.
"""

from __future__ import annotations

from typing import Iterable

import chess
import numpy as np

#: piece order of the planes, per side (the reference's "kqbnrp")
PIECE_ORDER = (chess.KING, chess.QUEEN, chess.BISHOP, chess.KNIGHT, chess.ROOK, chess.PAWN)
_FEN_LETTER = "KQBNRP"


def frame_square(square: int, black_to_move: bool) -> int:
    """A real square in the mover's frame (and back: the map is its own inverse)."""
    return chess.square_mirror(square) if black_to_move else square


def encode_board(board: chess.Board) -> np.ndarray:
    """The 12x8x8 uint8 planes of the position ``board`` (the side to move is ``board.turn``)."""
    masks = np.array([board.pieces_mask(pt, color) for color in (board.turn, not board.turn)
                      for pt in PIECE_ORDER], dtype="<u8")
    # bit i of a bitboard is square i = 8 * rank + file: little-endian bytes, little bit order
    planes = np.unpackbits(masks.view(np.uint8), bitorder="little").reshape(12, 8, 8)
    if board.turn == chess.BLACK:
        planes = planes[:, ::-1]
    return np.ascontiguousarray(planes)


def encode_move(move: chess.Move, black_to_move: bool) -> np.ndarray:
    """The 8x8 uint8 target: 1 on the from and to squares of ``move`` in the mover's frame."""
    target = np.zeros((8, 8), dtype=np.uint8)
    for square in (move.from_square, move.to_square):
        sq = frame_square(square, black_to_move)
        target[sq >> 3, sq & 7] = 1
    return target


# -- the side information the planes lack --------------------------------------------------

_CASTLING_BITS = ((chess.BB_H1, 1), (chess.BB_A1, 2), (chess.BB_H8, 4), (chess.BB_A8, 8))


def pack_state(board: chess.Board) -> int:
    """Who moves, castling rights and the en-passant file, in one small integer."""
    state = 1 if board.turn == chess.BLACK else 0
    for bb, bit in _CASTLING_BITS:
        if board.castling_rights & bb:
            state |= bit << 1
    if board.ep_square is not None:
        state |= (chess.square_file(board.ep_square) + 1) << 5
    return state


def unpack_state(board: chess.Board, state: int) -> None:
    """Set ``board``'s turn, castling rights and en-passant square from :func:`pack_state`."""
    board.turn = chess.BLACK if state & 1 else chess.WHITE
    rights = 0
    for bb, bit in _CASTLING_BITS:
        if state & (bit << 1):
            rights |= bb
    board.castling_rights = rights
    ep_file = (state >> 5) & 15
    board.ep_square = None
    if ep_file:
        rank = 5 if board.turn == chess.WHITE else 2
        board.ep_square = chess.square(ep_file - 1, rank)


# -- decoding planes -----------------------------------------------------------------------

def piece_codes(planes) -> np.ndarray:
    """(N, 12, 8, 8) planes (tensor or array) -> (N, 64) uint8 codes in the frame:
    0 empty, 1..6 the mover's K Q B N R P, 7..12 the opponent's. Planes after the 12th (the
    move head's state plane, :mod:`dt_chess.moves`) are no pieces and are left out."""
    import torch

    x = torch.as_tensor(planes)
    x = x.reshape(-1, x.shape[-3], 64)[:, :12]
    present = x.amax(1) > 0
    codes = (x.float().argmax(1) + 1) * present
    return codes.to(torch.uint8).cpu().numpy()


def frame_board(code: np.ndarray) -> chess.Board:
    """The frame position of one (64,) code: the mover as White, to move."""
    rows = []
    for rank in range(7, -1, -1):
        row, empty = "", 0
        for file in range(8):
            c = int(code[rank * 8 + file])
            if c == 0:
                empty += 1
                continue
            if empty:
                row, empty = row + str(empty), 0
            letter = _FEN_LETTER[(c - 1) % 6]
            row += letter if c <= 6 else letter.lower()
        rows.append(row + (str(empty) if empty else ""))
    board = chess.Board("/".join(rows) + " w - - 0 1")
    rights = 0
    if board.piece_at(chess.E1) == chess.Piece(chess.KING, chess.WHITE):
        rights |= board.pieces_mask(chess.ROOK, chess.WHITE) & (chess.BB_A1 | chess.BB_H1)
    if board.piece_at(chess.E8) == chess.Piece(chess.KING, chess.BLACK):
        rights |= board.pieces_mask(chess.ROOK, chess.BLACK) & (chess.BB_A8 | chess.BB_H8)
    board.castling_rights = rights
    return board


def real_board(code: np.ndarray, state: int) -> chess.Board:
    """The real position of one code given its :func:`pack_state` state."""
    frame = frame_board(code)
    black = bool(state & 1)
    board = frame.mirror() if black else frame.copy()
    unpack_state(board, state)
    return board


# -- legal moves in the frame, cached ---------------------------------------------------------

_POSITION_CACHE: dict[bytes, np.ndarray] = {}
_POSITION_CACHE_MAX = 200_000


def legal_pairs(code: np.ndarray) -> np.ndarray:
    """(M, 2) int64 from/to squares of the frame position's legal moves (cached by position)."""
    key = code.tobytes()
    pairs = _POSITION_CACHE.get(key)
    if pairs is None:
        try:
            moves = list(frame_board(code).legal_moves)
        except (ValueError, IndexError):  # no kings, or planes that are not a position
            moves = []
        pairs = np.array([(m.from_square, m.to_square) for m in moves], dtype=np.int64).reshape(-1, 2)
        if len(_POSITION_CACHE) >= _POSITION_CACHE_MAX:
            _POSITION_CACHE.clear()
        _POSITION_CACHE[key] = pairs
    return pairs


def legal_table(codes: np.ndarray):
    """Padded legal-move squares of a batch: ``(from, to, valid)`` tensors of shape (N, M)."""
    import torch

    pairs = [legal_pairs(c) for c in codes]
    width = max([len(p) for p in pairs] + [1])
    frm = np.zeros((len(pairs), width), dtype=np.int64)
    to = np.zeros_like(frm)
    valid = np.zeros((len(pairs), width), dtype=bool)
    for i, p in enumerate(pairs):
        frm[i, :len(p)], to[i, :len(p)], valid[i, :len(p)] = p[:, 0], p[:, 1], True
    return torch.from_numpy(frm), torch.from_numpy(to), torch.from_numpy(valid)


_BATCH_CACHE: dict[bytes, tuple] = {}


def cached_legal_table(codes: np.ndarray, device):
    """:func:`legal_table` on ``device``, remembered for the last few batches: extrapolation
    asks for the same batch once per iteration."""
    import hashlib

    key = hashlib.blake2b(codes.tobytes(), digest_size=16).digest() + str(device).encode()
    table = _BATCH_CACHE.get(key)
    if table is None:
        table = tuple(t.to(device) for t in legal_table(codes))
        if len(_BATCH_CACHE) >= 4:
            _BATCH_CACHE.pop(next(iter(_BATCH_CACHE)))
        _BATCH_CACHE[key] = table
    return table


def best_legal_squares(scores, planes):
    """(N, 64) bool: the from and to squares of the legal move with the highest
    ``scores[from] + scores[to]`` (no square where the position has no legal move)."""
    import torch

    frm, to, valid = cached_legal_table(piece_codes(planes), scores.device)
    total = scores.gather(1, frm) + scores.gather(1, to)
    total = total.masked_fill(~valid, float("-inf"))
    best = total.argmax(1, keepdim=True)
    has_move = valid.any(1)
    mask = torch.zeros_like(scores, dtype=torch.bool)
    mask.scatter_(1, frm.gather(1, best), True)
    mask.scatter_(1, to.gather(1, best), True)
    return mask & has_move[:, None]


def move_between(board: chess.Board, squares: Iterable[int]) -> chess.Move | None:
    """The legal move of ``board`` whose from/to squares are exactly ``squares`` (a queen
    promotion when several promotions share them), or None."""
    wanted = set(squares)
    if len(wanted) != 2:
        return None
    found = [m for m in board.legal_moves if {m.from_square, m.to_square} == wanted]
    if not found:
        return None
    return next((m for m in found if m.promotion in (None, chess.QUEEN)), found[0])
