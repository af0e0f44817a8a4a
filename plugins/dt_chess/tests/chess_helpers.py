"""Helpers of the chess plugin's tests: Lichess-format files and an independent reference
encoding. Test modules import from here, never from one another."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import chess
import torch

# Rows in the published layout (first moves of real Lichess puzzles).
LICHESS_ROWS = [
    ("00sHx", "q3k1nr/1pp1nQpp/3p4/1P2p3/4P3/B1PP1b2/B5PP/5K2 b k - 0 17", "e8d7 a2e6 d7d8 f7f8", 1760),
    ("00sJ9", "r3r1k1/p4ppp/2p2n2/1p6/3P1qb1/2NQR3/PPB2PbP/R1B3K1 w - - 5 18", "e3g3 e8e1", 2671),
    ("00sJb", "Q1b2r1k/p2np2p/5bp1/q7/5P2/4B3/PPP3PP/2KR1B1R w - - 1 17", "d1d7 a5e1 d7d1 e1e3 c1b1 e3b6", 2235),
    ("00sO1", "1k1r4/pp3pp1/2p1p3/4b3/P3n1P1/8/KPP2PN1/3rBR1R b - - 2 31", "b8c7 e1a5 b7b6 f1d1", 998),
    # a promotion (Black), castling (White) and an en-passant capture (White) as solutions
    ("promo", "8/8/8/8/8/k7/p6P/2K5 w - - 0 1", "h2h3 a2a1q", 1500),
    ("castl", "r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1", "a8b8 e1g1", 1500),
    ("enpas", "4k3/3p4/8/4P3/8/8/8/4K3 b - - 0 1", "d7d5 e5d6", 998),
]


def random_rows(n: int, seed: int) -> list[tuple[str, str, str, int]]:
    """Puzzle-shaped rows from random play: (id, FEN, 'first second', rating) with tied ratings."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < n:
        board = chess.Board()
        for _ in range(rng.randint(2, 40)):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(rng.choice(moves))
        before = board.copy(stack=False)
        moves = list(before.legal_moves)
        if not moves:
            continue
        first = rng.choice(moves)
        before.push(first)
        replies = list(before.legal_moves)
        if not replies:
            continue
        rows.append((f"r{len(rows):04d}", board.fen(), f"{first.uci()} {rng.choice(replies).uci()}",
                     rng.choice([800, 1200, 1200, 1500, 1900, 2300])))
    return rows


def write_csv(path: Path, rows, layout: int = 10, compress: str | None = None) -> Path:
    """A Lichess puzzle file: ``layout`` 10 (with header and OpeningTags) or 9 (older, no
    header); ``compress`` None, "gz" or "zst"."""
    lines = []
    if layout == 10:
        lines.append("PuzzleId,FEN,Moves,Rating,RatingDeviation,Popularity,NbPlays,Themes,GameUrl,OpeningTags")
    for pid, fen, moves, rating in rows:
        fields = [pid, fen, moves, str(rating), "75", "90", "120", "mate short",
                  f"https://lichess.org/{pid}"]
        if layout == 10:
            fields.append("Sicilian_Defense")
        lines.append(",".join(fields))
    data = ("\n".join(lines) + "\n").encode()
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "zst":
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def reference_tensors(rows):
    """The reference's tensors, computed independently: sort by rating (stable), apply the first
    move, parse the FEN board like make_chess.get_board_tensor, flip ranks when Black moves."""
    order = sorted(range(len(rows)), key=lambda i: rows[i][3])  # sorted() is stable
    codes = {"k": 1, "q": 2, "b": 3, "n": 4, "r": 5, "p": 6,
             "K": 7, "Q": 8, "B": 9, "N": 10, "R": 11, "P": 12}
    inputs, targets, ratings = [], [], []
    for i in order:
        _, fen, moves, rating = rows[i]
        board = chess.Board(fen)
        board.push_uci(moves.split()[0])
        placement, side = board.fen().split()[:2]
        black = side == "b"
        grid = torch.zeros(8, 8)
        rank, file = 7, 0
        for ch in placement:
            if ch == "/":
                rank, file = rank - 1, 0
            elif ch.isdigit():
                file += int(ch)
            else:
                grid[rank, file] = codes[ch]
                file += 1
        order_str = "kqbnrpKQBNRP" if black else "KQBNRPkqbnrp"
        planes = torch.stack([(grid == codes[p]).float() for p in order_str])
        second = moves.split()[1]
        target = torch.zeros(8, 8, dtype=torch.long)
        target[int(second[1]) - 1, "abcdefgh".index(second[0])] = 1
        target[int(second[3]) - 1, "abcdefgh".index(second[2])] = 1
        if black:  # FlippedChessPuzzleDataset: flip the rank axis
            planes, target = torch.flip(planes, [1]), torch.flip(target, [0])
        inputs.append(planes)
        targets.append(target)
        ratings.append(rating)
    return torch.stack(inputs), torch.stack(targets), ratings
