"""The legal-move head of the chess problem (``-o target=move``): the net scores every
origin-destination pair and only the position's legal moves compete, so it never predicts an
illegal move.

Output. The net keeps its per-square head with 64 channels: ``logits[n, to, from_row,
from_col]`` scores the move from square ``from`` (the output position) to square ``to`` (the
channel), 64 x 64 = 4096 pairs of which a position has some 30 legal. :func:`move_scores`
flattens them to ``(N, 4096)`` indexed ``from * 64 + to`` (squares in the mover's frame, as
the planes).

Input. The 12 piece planes say neither which castling rights remain nor whether an en-passant
capture is possible, so legality is not a function of them (a king and rook at home may have
lost the right to castle). The move head therefore adds a 13th plane, :func:`state_plane`:
1 on each rook that may still castle (the mover's on frame rank 1, the opponent's on rank 8)
and on the en-passant square (frame rank 6). Who moves needs no plane: the frame always has
the mover playing up, as White. With it, :func:`frame_position` rebuilds the mover's exact
position from the planes, and its legal moves are python-chess's.

Promotions. The four promotions of a pawn share their two squares; the head scores the pair
and it is read as the queen promotion (:func:`dt_chess.encoding.move_between`), as the
targets, which mark only the two squares, do (an under-promotion solution is found when its
squares are).

Cost. A position's legal moves are computed once with python-chess and kept (by the bytes of
its planes) for the process, so every later epoch, and every iteration of an extrapolation,
finds them in a dict; the last few batches' masks are kept on their device too (loss and
predict of one step, one batch over many iterations).
"""

from __future__ import annotations

import hashlib

import chess
import numpy as np

from dt_chess.encoding import frame_board, frame_square, piece_codes

MOVES = 64 * 64
#: the plane :func:`state_plane` adds, after the 12 piece planes
STATE_PLANE = 12
_EP_ROW = 5  # frame rank 6: the square a pawn skipped, seen from the side to move
_CORNERS = (chess.A1, chess.H1, chess.A8, chess.H8)
# castling bits of encoding.pack_state: (real square, bit) -- bit 1 << 1 is H1, and so on
_STATE_ROOKS = ((chess.H1, 1), (chess.A1, 2), (chess.H8, 4), (chess.A8, 8))


# -- the 13th plane ------------------------------------------------------------------------

def state_plane(states) -> np.ndarray:
    """(N, 8, 8) uint8 planes from packed states (:func:`dt_chess.encoding.pack_state`, (N,)):
    the castling rooks and the en-passant square, in the mover's frame."""
    states = np.asarray(states, dtype=np.int64).reshape(-1)
    plane = np.zeros((len(states), 64), dtype=np.uint8)
    black = (states & 1).astype(bool)
    rows = np.arange(len(states))
    for square, bit in _STATE_ROOKS:
        has = ((states >> 1) & bit) != 0
        frame = np.where(black, chess.square_mirror(square), square)
        plane[rows[has], frame[has]] = 1
    ep_file = (states >> 5) & 15
    has = ep_file > 0
    plane[rows[has], _EP_ROW * 8 + ep_file[has] - 1] = 1
    return plane.reshape(-1, 8, 8)


def with_state_plane(inputs, states):
    """``inputs`` (N, 12, 8, 8) with the :func:`state_plane` of ``states`` appended."""
    import torch

    extra = torch.from_numpy(state_plane(torch.as_tensor(states).cpu().numpy()))
    return torch.cat([inputs, extra.to(inputs.dtype).unsqueeze(1)], 1)


# -- legal moves from the planes -------------------------------------------------------------

def frame_position(code: np.ndarray, special: np.ndarray | None) -> chess.Board:
    """The mover's position (as White, in the frame) of one (64,) piece code and, when given,
    its (64,) state plane: castling rights and en passant exact. Without the plane, castling is
    allowed wherever king and rook stand at home and there is no en passant
    (:func:`dt_chess.encoding.frame_board`)."""
    board = frame_board(code)
    if special is not None:
        rights = 0
        for square in _CORNERS:
            if special[square]:
                rights |= chess.BB_SQUARES[square]
        board.castling_rights = rights
        row = special[_EP_ROW * 8:_EP_ROW * 8 + 8]
        board.ep_square = (chess.square(int(np.flatnonzero(row)[0]), _EP_ROW) if row.any()
                           else None)
    return board


_POSITIONS: dict[bytes, np.ndarray] = {}
_POSITIONS_MAX = 400_000


def legal_indices(code: np.ndarray, special: np.ndarray | None = None) -> np.ndarray:
    """int16 ``from * 64 + to`` of the legal moves of one frame position (remembered; a
    promotion's four moves are one pair; none for planes that are no position)."""
    key = code.tobytes() + (b"" if special is None else b"|" + np.packbits(special).tobytes())
    found = _POSITIONS.get(key)
    if found is None:
        try:
            moves = frame_position(code, special).legal_moves
            found = np.unique(np.array([m.from_square * 64 + m.to_square for m in moves],
                                       dtype=np.int16))
        except (ValueError, IndexError, AssertionError):  # no king, pawns on the back rank...
            found = np.zeros(0, dtype=np.int16)
        if len(_POSITIONS) >= _POSITIONS_MAX:
            _POSITIONS.clear()
        _POSITIONS[key] = found
    return found


def _planes_numpy(planes) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, 64) piece codes and the (N, 64) state plane (None for 12-plane inputs)."""
    import torch

    x = torch.as_tensor(planes)
    codes = piece_codes(x)
    if x.shape[-3] <= STATE_PLANE:
        return codes, None
    special = x.reshape(-1, x.shape[-3], 64)[:, STATE_PLANE] > 0
    return codes, special.to(torch.uint8).cpu().numpy()


def legal_mask_cpu(planes):
    """(N, 4096) bool tensor: True at ``from * 64 + to`` of each position's legal moves."""
    import torch

    codes, special = _planes_numpy(planes)
    index = [legal_indices(c, None if special is None else special[i]) for i, c in enumerate(codes)]
    rows = np.repeat(np.arange(len(index)), [len(i) for i in index])
    cols = np.concatenate(index + [np.zeros(0, dtype=np.int16)]).astype(np.int64)
    mask = torch.zeros(len(index), MOVES, dtype=torch.bool)
    mask[torch.from_numpy(rows), torch.from_numpy(cols)] = True
    return mask


_BATCHES: dict[bytes, object] = {}


def legal_mask(planes):
    """:func:`legal_mask_cpu` on the planes' device, the last few batches remembered: a step's
    loss and prediction, and an extrapolation's iterations, ask for the same batch."""
    import torch

    x = torch.as_tensor(planes)
    host = x.detach().to("cpu", torch.uint8).contiguous().numpy()
    key = hashlib.blake2b(host.tobytes(), digest_size=16).digest() + str(x.device).encode()
    mask = _BATCHES.get(key)
    if mask is None:
        mask = legal_mask_cpu(host).to(x.device)
        if len(_BATCHES) >= 4:
            _BATCHES.pop(next(iter(_BATCHES)))
        _BATCHES[key] = mask
    return mask


# -- scoring -------------------------------------------------------------------------------

def move_scores(logits):
    """(N, 64, 8, 8) logits -> (N, 4096) float scores indexed ``from * 64 + to``."""
    n = len(logits)
    return logits.float().reshape(n, 64, 64).transpose(1, 2).reshape(n, MOVES)


def target_index(targets, inputs):
    """(N,) long ``from * 64 + to`` of the solution whose two squares ``targets`` (N, 8, 8)
    marks: the origin is the marked square holding one of the mover's pieces."""
    n = len(targets)
    marked = targets.reshape(n, 64) > 0
    own = inputs[:, :6].reshape(n, 6, 64).amax(1) > 0
    origin = (marked & own).float().argmax(1)
    dest = (marked & ~own).float().argmax(1)
    return origin * 64 + dest


def masked_scores(logits, inputs, targets=None):
    """:func:`move_scores` with every illegal pair at -inf (the solution's pair kept legal
    when ``targets`` are given, so a solution the planes cannot show never makes the loss
    infinite)."""
    import torch

    scores = move_scores(logits)
    legal = legal_mask(inputs)
    if targets is not None:
        legal = legal.clone()
        legal[torch.arange(len(legal), device=legal.device), target_index(targets, inputs)] = True
    return scores.masked_fill(~legal, float("-inf")), legal


def loss(logits, targets, inputs):
    """Mean cross-entropy of the solution among the legal moves (illegal pairs masked out)."""
    import torch.nn.functional as F

    scores, _ = masked_scores(logits, inputs, targets)
    return F.cross_entropy(scores, target_index(targets, inputs))


def predict(logits, inputs):
    """(N, 8, 8) uint8 square flags in :meth:`ChessPuzzles.predict`'s format: the from and
    to squares of the best-scoring *legal* move carry both bits (the top-2 squares and the
    best legal move are the same move); nothing where a position has no legal move."""
    import torch

    scores, legal = masked_scores(logits, inputs)
    best = scores.argmax(1)
    n = len(best)
    flags = torch.zeros(n, 64, dtype=torch.uint8, device=scores.device)
    rows = torch.arange(n, device=scores.device)
    flags[rows, best // 64] = 3
    flags[rows, best % 64] = 3
    flags *= legal.any(1, keepdim=True).to(torch.uint8)
    return flags.reshape(n, 8, 8)


def move_probabilities(logits, inputs):
    """(N, 4096) softmax over each position's legal moves (zeros where it has none)."""
    scores, legal = masked_scores(logits, inputs)
    return scores.softmax(1).nan_to_num(0.0) * legal


def position_confidence(logits, inputs):
    """(N, 8, 8): the probability of each square's predicted class, as the squares head's:
    on the predicted move's two squares, that the move touches the square (as its origin or
    destination); elsewhere, that it does not."""
    import torch

    p = move_probabilities(logits, inputs).reshape(len(logits), 64, 64)
    touch = (p.sum(2) + p.sum(1)).clamp(0.0, 1.0).reshape(len(logits), 8, 8)
    return torch.where(predict(logits, inputs) > 0, touch, 1.0 - touch)


def confidence(logits, inputs):
    """(N,): the probability of the predicted move (for max-confidence extrapolation)."""
    return move_probabilities(logits, inputs).amax(1)


# -- augmentation ----------------------------------------------------------------------------

def castling_possible(inputs):
    """(N,) bool: a position that may hold a castling right, so its files cannot be mirrored.
    With the state plane, exactly the positions with a right; without it, those with a king
    and a rook on their home squares (either side)."""
    n = len(inputs)
    if inputs.shape[1] > STATE_PLANE:
        plane = inputs[:, STATE_PLANE]
        return (plane[:, 0].amax(1) > 0) | (plane[:, 7].amax(1) > 0)
    mine = (inputs[:, 0, 0, 4] > 0) & ((inputs[:, 4, 0, 0] > 0) | (inputs[:, 4, 0, 7] > 0))
    theirs = (inputs[:, 6, 7, 4] > 0) & ((inputs[:, 10, 7, 0] > 0) | (inputs[:, 10, 7, 7] > 0))
    return (mine | theirs).reshape(n)


def mirror_files(inputs, targets, generator):
    """Half of the positions without castling rights (drawn from ``generator``) mirrored
    left to right, files a..h to h..a: chess without castling is symmetric so, the mirrored
    solution is the mirrored position's solution, and legal moves stay legal."""
    import torch

    coin = torch.rand(len(inputs), generator=generator) < 0.5
    flip = coin.to(inputs.device) & ~castling_possible(inputs)
    inputs = torch.where(flip[:, None, None, None], inputs.flip(-1), inputs)
    targets = torch.where(flip[:, None, None], targets.flip(-1), targets)
    return inputs, targets


def frame_moves(board: chess.Board) -> set[int]:
    """``from * 64 + to`` in the mover's frame of ``board``'s legal moves (tests, tools)."""
    black = board.turn == chess.BLACK
    return {frame_square(m.from_square, black) * 64 + frame_square(m.to_square, black)
            for m in board.legal_moves}
