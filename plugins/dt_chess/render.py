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
from rich.table import Table
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


#: squares as (columns, rows): a terminal cell is about twice as tall as it is wide, so both
#: look square; the big one is drawn where it fits (:func:`choose_layout`)
BIG, SMALL = (4, 2), (2, 1)
SIDE = 22  # cells the text beside a board wants


def board_text(board: chess.Board, predicted: set[int], solution: set[int],
               legal_move: set[int], square: tuple[int, int] = BIG) -> Text:
    """The board as text, from the side to move's side; squares are real squares, ``square``
    cells wide and rows tall, the piece in the lower row."""
    cols, rows = square
    text = Text()
    white_view = board.turn == chess.WHITE
    ranks = range(7, -1, -1) if white_view else range(8)
    files = list(range(8)) if white_view else list(range(7, -1, -1))
    pad = (cols - 1) // 2  # cells before the piece
    for rank in ranks:
        for row in range(rows):
            piece_row = row == rows - 1
            text.append(f"{rank + 1} " if piece_row else "  ", style="dim")
            for file in files:
                square_index = chess.square(file, rank)
                dark = (rank + file) % 2 == 0
                bg = square_colour(square_index, dark, solution, predicted, legal_move)
                piece = board.piece_at(square_index) if piece_row else None
                glyph = GLYPHS[piece.color][piece.piece_type] if piece else " "
                fg = (WHITE_PIECE if piece and piece.color == chess.WHITE else BLACK_PIECE)
                text.append(" " * pad + glyph + " " * (cols - pad - 1), style=f"{fg} on {bg}")
            text.append("\n")
    text.append("  " + "".join(" " * pad + chess.FILE_NAMES[f] + " " * (cols - pad - 1)
                               for f in files), style="dim")
    return text


def board_size(square: tuple[int, int]) -> tuple[int, int]:
    """Cells ``(width, height)`` of a board with ``square`` squares, labels included."""
    return 2 + 8 * square[0], 8 * square[1] + 1


def choose_layout(fit: tuple[int, int] | None, side_lines: int, below_lines: int
                  ) -> tuple[tuple[int, int], bool]:
    """``(square, beside)``: the biggest square whose board fits ``fit`` (None: any size)
    with its text below it, else beside it (``side_lines`` lines of about 22 cells), else
    the small board with its text below (a scroll view shows the rest)."""
    if fit is None:
        return BIG, False
    width, height = fit
    for square in (BIG, SMALL):
        w, h = board_size(square)
        if w <= width and h + below_lines <= height:
            return square, False
        if w + 2 + SIDE <= width and max(h, side_lines) <= height:
            return square, True
    return SMALL, False


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
                    move_probability: np.ndarray | None, fit: tuple[int, int] | None = None):
    """A renderable of ``board`` (the real position when ``known``, else the frame position)
    with the network's squares and the solution; masks and the per-square probability of
    being a move square are (64,) in the network's frame. With ``fit`` (cells), the board is
    as big as fits, with its text below it or beside it (:func:`choose_layout`)."""
    black = known and board.turn == chess.BLACK
    to_real = lambda squares: {frame_square(s, black) for s in squares}  # noqa: E731
    top2, legal, solution = (to_real(_squares(m)) for m in (predicted_top2, predicted_legal, target))
    marked_legal = legal if legal != top2 else set()
    who = (f"{'White' if board.turn == chess.WHITE else 'Black'} to move" if known
           else "side to move drawn as White (the input does not say who moves)")
    lines: list[list[Text]] = []  # a line of the text below the board, in parts
    short: dict[int, list[Text]] = {}  # a line in fewer words, for beside the board
    if predicted_top2 is not None:
        move = move_between(board, top2)
        if move is not None:
            lines.append([Text(f"prediction: {_san(board, move)}", style="bold"),
                          Text("(legal move)", style="green")])
        else:
            names = ", ".join(chess.SQUARE_NAMES[s] for s in sorted(top2))
            lines.append([Text(f"prediction: {names or '-'}", style="bold"),
                          Text("(not a legal move)", style="yellow")])
            best = move_between(board, legal)
            if best is not None:
                lines.append([Text.assemble("best legal move: ", (_san(board, best), "bold"))])
        if move_probability is not None and top2:
            probs = [float(move_probability[frame_square(s, black)]) for s in sorted(top2)]
            shown = ", ".join(f"{p:.2f}" for p in probs)
            lines.append([Text(f"p(move square) {shown}", style="dim")])
            short[len(lines) - 1] = [Text(f"p(move) {shown}", style="dim")]
    if target is not None:
        answer = move_between(board, solution)
        names = ", ".join(chess.SQUARE_NAMES[s] for s in sorted(solution))
        found = [Text.assemble("solution: ", (_san(board, answer) if answer else names,
                                              "bold green"))]
        if predicted_top2 is not None:
            if top2 == solution:
                found.append(Text("✓ found", style="bold green"))
            elif legal == solution:
                found.append(Text("✓ found as the best legal move (the top-2 squares miss it)",
                                  style="green"))
                short[len(lines)] = [found[0], Text("✓ found (best legal)", style="green")]
            else:
                found.append(Text("✗ not found", style="bold red"))
        lines.append(found)
    legend = []
    for colours, label in ((PREDICTED, "top-2 squares"), (LEGAL, "best legal move"),
                           (SOLUTION, "solution"), (BOTH, "right")):
        legend.append(Text.assemble(("  ", f"on {colours[0]}"), (f" {label}", "dim")))

    side = [Text(who, style="bold")]
    for i, line in enumerate(lines):
        side += short.get(i, line)
    side += legend
    below = Text("\n").join(Text("  ").join(line) for line in lines)
    legend_line = Text("    ").join(legend)
    width = fit[0] if fit is not None else 80
    below_lines = 1 + len(lines) + -(-legend_line.cell_len // max(1, width))
    side_lines = sum(-(-t.cell_len // SIDE) for t in side)
    square, beside = choose_layout(fit, side_lines, below_lines)
    drawn = board_text(board, top2, solution, marked_legal, square)
    if beside:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(max_width=max(SIDE, width - board_size(square)[0] - 2))
        table.add_row(drawn, Text("\n").join(side))
        return table
    parts = [Text(who, style="bold"), drawn]
    if lines:
        parts.append(below)
    parts.append(legend_line)
    return Group(*parts)
