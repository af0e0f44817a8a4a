"""A chess position as a picture (Pillow): the board from the side to move's side, the
network's squares and the solution in the colours of the terminal view, and the moves in SAN.

Pieces are the Unicode chess glyphs of DejaVu Sans (shipped with matplotlib, a dt
dependency); without that font they are letters in discs.
"""

from __future__ import annotations

from pathlib import Path

import chess
import numpy as np

from dt_chess.encoding import frame_square, move_between
from dt_chess.render import square_colour

SQUARE, MARGIN, FOOTER = 40, 14, 20  # pixels
FILLED = dict(zip(chess.PIECE_TYPES, "♟♞♝♜♛♚"))


def _font(size: int, glyphs: bool = False):
    from PIL import ImageFont

    if glyphs:
        try:
            import matplotlib

            path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
            return ImageFont.truetype(str(path), size)
        except (ImportError, OSError):
            return None
    return ImageFont.load_default(size=size)


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def board_image(board: chess.Board, known: bool, top2: np.ndarray | None,
                legal: np.ndarray | None, target: np.ndarray | None) -> np.ndarray:
    """RGB ``(H, W, 3)`` uint8 of ``board`` with the predicted squares (``top2``: the
    reference's top-2 squares; ``legal``: the best legal move's) and the solution; masks are
    (64,) in the network's frame, as :func:`dt_chess.render.render_position` takes them."""
    from PIL import Image, ImageDraw

    black = known and board.turn == chess.BLACK
    real = lambda m: set() if m is None else {frame_square(int(s), black)  # noqa: E731
                                              for s in np.flatnonzero(m)}
    predicted, best, solution = real(top2), real(legal), real(target)
    best = best if best != predicted else set()
    size = 8 * SQUARE + MARGIN
    img = Image.new("RGB", (size, size + FOOTER), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    pieces, small = _font(int(SQUARE * 0.8), glyphs=True), _font(10)
    letters = _font(int(SQUARE * 0.5))
    white_view = board.turn == chess.WHITE
    for row in range(8):
        rank = 7 - row if white_view else row
        draw.text((MARGIN / 2, row * SQUARE + SQUARE / 2), str(rank + 1), fill=(90, 90, 90),
                  font=small, anchor="mm")
        for col in range(8):
            file = col if white_view else 7 - col
            square = chess.square(file, rank)
            dark = (rank + file) % 2 == 0
            bg = square_colour(square, dark, solution, predicted, best)
            x0, y0 = MARGIN + col * SQUARE, row * SQUARE
            draw.rectangle((x0, y0, x0 + SQUARE - 1, y0 + SQUARE - 1), fill=_hex(bg))
            piece = board.piece_at(square)
            if piece is None:
                continue
            centre = (x0 + SQUARE / 2, y0 + SQUARE / 2)
            white = piece.color == chess.WHITE
            fill, edge = ((255, 255, 255), (0, 0, 0)) if white else ((0, 0, 0), (0, 0, 0))
            if pieces is not None:
                draw.text(centre, FILLED[piece.piece_type], fill=fill, font=pieces, anchor="mm",
                          stroke_width=1 if white else 0, stroke_fill=edge)
            else:
                r = SQUARE * 0.38
                draw.ellipse((centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r),
                             fill=fill, outline=(0, 0, 0))
                draw.text(centre, piece.symbol().upper(), fill=(0, 0, 0) if white else
                          (255, 255, 255), font=letters, anchor="mm")
    for col in range(8):
        file = col if white_view else 7 - col
        draw.text((MARGIN + col * SQUARE + SQUARE / 2, 8 * SQUARE + MARGIN / 2),
                  chess.FILE_NAMES[file], fill=(90, 90, 90), font=small, anchor="mm")
    draw.text((MARGIN, size + FOOTER / 2), _moves(board, predicted, solution, known),
              fill=(30, 30, 30), font=_font(12), anchor="lm")
    return np.asarray(img)


def _moves(board: chess.Board, predicted: set[int], solution: set[int], known: bool) -> str:
    """One line: who moves, the predicted move and the solution, in SAN where they are moves."""
    def san(squares: set[int]) -> str:
        move = move_between(board, squares)
        if move is not None:
            return board.san(move)
        return "-".join(chess.SQUARE_NAMES[s] for s in sorted(squares)) or "?"

    parts = [f"{'White' if board.turn == chess.WHITE else 'Black'} to move" if known
             else "mover drawn as White"]
    if predicted:
        parts.append(f"predicted {san(predicted)}")
    if solution:
        parts.append(f"solution {san(solution)}")
    return "   ".join(parts)
