"""A chess board in the terminal: Unicode pieces on light and dark squares, the predicted
squares and the solution marked, and the moves in SAN.

The board is drawn from the side to move's point of view, as puzzle sites do. When dt knows the
real position (a FEN you gave, a puzzle from a data set) the squares and SAN are the real ones;
from the input planes alone it draws the network's frame, the side to move shown as White.
"""

from __future__ import annotations

import chess
import numpy as np
from rich.console import Group
from rich.text import Text

from dt_chess.encoding import frame_square, move_between

# outline glyphs for White and filled ones for Black, so a board without colours still reads
GLYPHS = {chess.WHITE: dict(zip(chess.PIECE_TYPES, "♙♘♗♖♕♔")),
          chess.BLACK: dict(zip(chess.PIECE_TYPES, "♟♞♝♜♛♚"))}
LIGHT, DARK = "#e8d6b0", "#b58863"
PREDICTED = ("#f6e05e", "#d4b02c")  # light / dark square variant
SOLUTION = ("#9ae6b4", "#48bb78")
LEGAL = ("#fbb6ce", "#d53f8c")  # the best legal move, where it differs from the top-2 squares
BOTH = ("#63b3ed", "#3182ce")  # predicted and right
WHITE_PIECE, BLACK_PIECE = "bold #ffffff", "bold #000000"


def _squares(mask: np.ndarray | None) -> set[int]:
    """Frame squares set in a (64,) mask."""
    return set() if mask is None else {int(i) for i in np.flatnonzero(mask)}


def board_text(board: chess.Board, predicted: set[int], solution: set[int],
               legal_move: set[int]) -> Text:
    """The board as text, from the side to move's side; squares are real squares."""
    text = Text()
    white_view = board.turn == chess.WHITE
    ranks = range(7, -1, -1) if white_view else range(8)
    files = list(range(8)) if white_view else list(range(7, -1, -1))
    for rank in ranks:
        text.append(f"{rank + 1} ", style="dim")
        for file in files:
            square = chess.square(file, rank)
            dark = (rank + file) % 2 == 0
            bg = square_colour(square, dark, solution, predicted, legal_move)
            piece = board.piece_at(square)
            glyph = GLYPHS[piece.color][piece.piece_type] if piece else " "
            fg = (WHITE_PIECE if piece and piece.color == chess.WHITE else BLACK_PIECE)
            text.append(f" {glyph} ", style=f"{fg} on {bg}")
        text.append("\n")
    text.append("   " + "".join(f" {chess.FILE_NAMES[f]} " for f in files), style="dim")
    return text


def _san(board: chess.Board, move: chess.Move | None) -> str:
    return board.san(move) if move is not None else "?"


def square_colour(square, dark: bool, solution, predicted, legal_move) -> str:
    """A square's background: the solution and the prediction agreeing, the prediction, the
    legal move it was decoded to, the solution alone, or the plain board."""
    if square in solution and (square in predicted or square in legal_move):
        return BOTH[dark]
    if square in predicted:
        return PREDICTED[dark]
    if square in legal_move:
        return LEGAL[dark]
    if square in solution:
        return SOLUTION[dark]
    return DARK if dark else LIGHT


def render_position(board: chess.Board, known: bool, predicted_top2: np.ndarray | None,
                    predicted_legal: np.ndarray | None, target: np.ndarray | None,
                    move_probability: np.ndarray | None) -> Group:
    """A renderable of ``board`` (the real position when ``known``, else the frame position)
    with the network's squares and the solution; masks and the per-square probability of
    being a move square are (64,) in the network's frame."""
    black = known and board.turn == chess.BLACK
    to_real = lambda squares: {frame_square(s, black) for s in squares}  # noqa: E731
    top2, legal, solution = (to_real(_squares(m)) for m in (predicted_top2, predicted_legal, target))
    marked_legal = legal if legal != top2 else set()
    who = (f"{'White' if board.turn == chess.WHITE else 'Black'} to move" if known
           else "side to move drawn as White (the input does not say who moves)")
    parts = [Text(who, style="bold"), board_text(board, top2, solution, marked_legal)]
    lines = Text()
    if predicted_top2 is not None:
        names = ", ".join(chess.SQUARE_NAMES[s] for s in sorted(top2))
        move = move_between(board, top2)
        if move is not None:
            lines.append(f"prediction: {_san(board, move)}", style="bold")
            lines.append("  (legal move)", style="green")
        else:
            lines.append(f"prediction: squares {names or '-'}", style="bold")
            lines.append("  (not a legal move)", style="yellow")
            best = move_between(board, legal)
            if best is not None:
                lines.append("\nbest legal move by score: ")
                lines.append(_san(board, best), style="bold")
        if move_probability is not None and top2:
            probs = [float(move_probability[frame_square(s, black)]) for s in sorted(top2)]
            lines.append(f"\np(move square) {', '.join(f'{p:.2f}' for p in probs)}", style="dim")
    if target is not None:
        if len(lines):
            lines.append("\n")
        answer = move_between(board, solution)
        lines.append("solution: ")
        names = ", ".join(chess.SQUARE_NAMES[s] for s in sorted(solution))
        lines.append(_san(board, answer) if answer else names, style="bold green")
        if predicted_top2 is not None:
            if top2 == solution:
                lines.append("   ✓ found", style="bold green")
            elif legal == solution:
                lines.append("\n  ✓ found as the best legal move (the top-2 squares miss it)",
                             style="green")
            else:
                lines.append("   ✗ not found", style="bold red")
    if len(lines):
        parts.append(lines)
    legend = Text()
    for colours, label in ((PREDICTED, "top-2 squares"), (LEGAL, "best legal move"),
                           (SOLUTION, "solution"), (BOTH, "right")):
        legend.append("  ", style=f"on {colours[0]}")
        legend.append(f" {label}  ", style="dim")
    parts.append(legend)
    return Group(*parts)
