"""The Lichess puzzle CSV: streaming reader (plain, .gz, .zst), difficulty ranges over the
rating-sorted puzzles, and conversion to tensors.

The published file (https://database.lichess.org/#puzzles) has the columns PuzzleId, FEN,
Moves, Rating, RatingDeviation, Popularity, NbPlays, Themes, GameUrl and, since 2022,
OpeningTags; older copies have no header and nine columns. ``FEN`` is the position *before*
the opponent's move, ``Moves`` the line in UCI starting with that move; the puzzle is to find
the second move. dt's own generator writes the same layout.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from dtcli.api import DtError

HEADER = ("PuzzleId", "FEN", "Moves", "Rating", "RatingDeviation", "Popularity", "NbPlays",
          "Themes", "GameUrl", "OpeningTags")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def open_text(path: Path) -> IO[str]:
    """Open a puzzle file as text, decompressing gzip or zstd (told by content, not name)."""
    path = Path(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - handed to the caller
    except OSError as exc:
        raise DtError(f"cannot read puzzle file {path}: {exc.strerror or exc}") from None
    magic = raw.read(4)
    raw.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        import gzip

        stream: IO[bytes] = gzip.GzipFile(fileobj=raw)
    elif magic == _ZSTD_MAGIC:
        stream = io.BufferedReader(_ZstdReader(raw))
    else:
        stream = raw
    return io.TextIOWrapper(stream, encoding="utf-8", newline="")


class _ZstdReader(io.RawIOBase):
    """Decompress zstd frames from ``raw``; a stream that ends inside a frame raises EOFError
    (zstandard's stream reader just stops, so a truncated download looked empty)."""

    def __init__(self, raw: IO[bytes]) -> None:
        import zstandard

        self.raw = raw
        self.dctx = zstandard.ZstdDecompressor()
        self.obj = self.dctx.decompressobj()
        self.pending = b""
        self.started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                if self.started and not self.obj.eof:
                    raise EOFError("it ends inside a zstd frame")
                return 0
            while chunk:
                if self.obj.eof:  # the next of several frames
                    self.obj = self.dctx.decompressobj()
                self.started = True
                self.pending += self.obj.decompress(chunk)
                chunk = self.obj.unused_data if self.obj.eof else b""
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


#: longest line a puzzle file may have (a Lichess row is ~200 bytes): a file with a huge line
#: is refused as it is read, not after the line is in memory
MAX_LINE = 64 * 1024


def _lines(fh: IO[str], path: Path) -> Iterator[str]:
    number = 0
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE:
            raise DtError(f"{path}: line {number} is longer than {MAX_LINE // 1024} KiB; this is "
                          "not a Lichess puzzle file")
        yield line


@dataclass(frozen=True)
class Row:
    """One puzzle as the file has it."""

    number: int  # position among the file's valid puzzle rows, from 0
    puzzle_id: str
    fen: str
    moves: str
    rating: int
    themes: str


def iter_rows(path: Path) -> Iterator[Row]:
    """Stream the puzzles of a Lichess-format file (a header line is optional).

    Lines that are not puzzles (too few columns, a rating that is not a number) are skipped,
    the same way on every pass, so row numbers are stable.
    """
    number = 0
    with open_text(path) as fh:
        try:
            for fields in csv.reader(_lines(fh, path)):
                if len(fields) < 4 or fields[0] == "PuzzleId":
                    continue
                try:
                    rating = int(fields[3])
                except ValueError:
                    continue
                themes = fields[7] if len(fields) > 7 else ""
                yield Row(number, fields[0], fields[1], fields[2], rating, themes)
                number += 1
        except EOFError as exc:
            raise DtError(f"{path} is truncated ({exc}); download it again") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DtError(f"{path} is not a readable puzzle file ({type(exc).__name__}: {exc})") from None


# -- difficulty: a range of the rating-sorted puzzles -----------------------------------------

_INDEX = re.compile(r"^\s*(\d*)\s*:\s*(\d*)\s*$")
_RATING = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(text: str) -> str:
    """Check and normalise a difficulty: ``A:B`` (indices into the puzzles sorted by rating,
    B excluded) or ``LO-HI`` (ratings, both included); either end may be left open."""
    text = str(text).strip()
    for pattern, sep in ((_INDEX, ":"), (_RATING, "-")):
        m = pattern.match(text)
        if m is None:
            continue
        lo, hi = (int(v) if v else None for v in m.groups())
        if lo is None and hi is None:
            break
        if lo is not None and hi is not None and (hi <= lo if sep == ":" else hi < lo):
            raise DtError(f"chess difficulty {text!r} is an empty range")
        return f"{'' if lo is None else lo}{sep}{'' if hi is None else hi}"
    raise DtError(f"chess difficulty {text!r} is neither an index range like 0:600000 "
                  f"(puzzles sorted by rating) nor a rating range like 1800-2200")


def describe_range(canonical: str) -> str:
    """A difficulty in words; an open end reads as a bound ("rating ≥ 1000", not
    "rating 1000-")."""
    sep = ":" if ":" in canonical else "-"
    lo, hi = canonical.split(sep)
    if sep == ":":
        if not lo:
            return f"the first {hi} puzzles by rating"
        return (f"puzzles {canonical} by rating order" if hi else
                f"puzzles from {lo} on by rating order")
    if lo and hi:
        return f"rating {canonical}"
    return f"rating ≥ {lo}" if lo else f"rating ≤ {hi}"


def select_range(ratings, canonical: str):
    """Row numbers (file order) of the puzzles in a difficulty range, in rating order
    (a stable sort, as the reference's ``sort_values(kind="mergesort")``)."""
    import numpy as np

    order = np.argsort(ratings, kind="stable")
    if ":" in canonical:
        lo, hi = canonical.split(":")
        return order[int(lo or 0):(int(hi) if hi else None)]
    lo, hi = canonical.split("-")
    sorted_ratings = ratings[order]
    start = np.searchsorted(sorted_ratings, int(lo), side="left") if lo else 0
    stop = np.searchsorted(sorted_ratings, int(hi), side="right") if hi else len(order)
    return order[start:stop]


def subsample(rows, count: int, seed: int):
    """``count`` of ``rows`` drawn by ``seed``, keeping their order (all of them if fewer)."""
    import numpy as np

    if count >= len(rows):
        return rows
    pick = np.random.default_rng(seed).choice(len(rows), size=count, replace=False)
    return rows[np.sort(pick)]


# -- conversion ------------------------------------------------------------------------------

def puzzle_position(fen: str, moves: str):
    """The position to solve (the FEN after the line's first move) and the solution move."""
    import chess

    line = moves.split()
    if len(line) < 2:
        raise ValueError(f"the line {moves!r} has no solution move")
    board = chess.Board(fen)
    first = chess.Move.from_uci(line[0])
    if not board.is_legal(first):
        raise ValueError(f"the first move {line[0]} is illegal in {fen}")
    board.push(first)
    solution = chess.Move.from_uci(line[1])
    if not board.is_legal(solution):
        raise ValueError(f"the solution move {line[1]} is illegal after {line[0]}")
    return board, solution


def read_ratings(path: Path):
    """Ratings of every valid puzzle row, in file order."""
    import numpy as np

    ratings = np.fromiter((r.rating for r in iter_rows(path)), dtype=np.int64)
    if len(ratings) == 0:
        raise DtError(f"{path} holds no puzzles in the Lichess CSV layout")
    return ratings


def line_positions(fen: str, moves: str, whole: bool):
    """The positions to solve in a puzzle's line and their solution moves: the first (after
    the opponent's move), or with ``whole`` every solver move's (after each opponent reply)."""
    import chess

    board, solution = puzzle_position(fen, moves)
    out = [(board.copy(stack=False), solution)]
    line = moves.split()
    for k in range(2, len(line) - 1, 2) if whole else ():
        board.push(solution)
        reply, solution = chess.Move.from_uci(line[k]), chess.Move.from_uci(line[k + 1])
        if not board.is_legal(reply):
            raise ValueError(f"move {k + 1} of the line, {line[k]}, is illegal")
        board.push(reply)
        if not board.is_legal(solution):
            raise ValueError(f"move {k + 2} of the line, {line[k + 1]}, is illegal")
        out.append((board.copy(stack=False), solution))
    return out


def convert(path: Path, rows, whole_line: bool = False, limit: int | None = None) -> dict:
    """Tensors for the puzzles with row numbers ``rows`` (in that order): inputs (N,12,8,8)
    and targets (N,8,8) uint8, ratings int32, state int16 (see :func:`encoding.pack_state`)
    and the row numbers. With ``whole_line`` each puzzle gives every solver move's position
    (adjacent, in line order) and the first ``limit`` positions are kept."""
    import chess
    import numpy as np
    import torch

    from dt_chess.encoding import encode_board, encode_move, pack_state

    slot = {int(r): i for i, r in enumerate(rows)}
    n = len(rows)
    inputs = np.zeros((n, 12, 8, 8), dtype=np.uint8)
    targets = np.zeros((n, 8, 8), dtype=np.uint8)
    ratings = np.zeros(n, dtype=np.int32)
    state = np.zeros(n, dtype=np.int16)
    later: dict[int, list] = {}  # with whole_line: each puzzle's later positions, encoded
    found = 0
    for row in iter_rows(path):
        i = slot.get(row.number)
        if i is None:
            continue
        try:
            line = line_positions(row.fen, row.moves, whole_line)
        except ValueError as exc:
            raise DtError(f"{path}: puzzle {row.puzzle_id} (row {row.number + 1}): {exc}") from None
        encoded = [(encode_board(board), encode_move(move, board.turn == chess.BLACK),
                    pack_state(board)) for board, move in line]
        inputs[i], targets[i], state[i] = encoded[0]
        ratings[i] = row.rating
        if len(encoded) > 1:
            later[i] = encoded[1:]
        found += 1
        if found == n:
            break
    if found != n:
        raise DtError(f"{path} changed while it was read; run the command again")
    numbers = np.asarray(rows, dtype=np.int64)
    if later:  # each puzzle's positions adjacent, in line order; the first ``limit`` kept
        kept: list = []  # (puzzle, its planes, target, state)
        for i in range(n):
            kept.append((i, inputs[i], targets[i], state[i]))
            kept += [(i, *position) for position in later.get(i, ())]
        kept = kept[:limit]
        puzzle = [k[0] for k in kept]
        inputs, targets = np.stack([k[1] for k in kept]), np.stack([k[2] for k in kept])
        state = np.asarray([k[3] for k in kept], dtype=np.int16)
        ratings, numbers = ratings[puzzle], numbers[puzzle]
    return {"inputs": torch.from_numpy(inputs), "targets": torch.from_numpy(targets),
            "ratings": torch.from_numpy(ratings), "state": torch.from_numpy(state),
            "rows": torch.from_numpy(numbers)}
