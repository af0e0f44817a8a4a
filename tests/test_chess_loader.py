"""Chess test helpers: Lichess-format files and an independent reference encoding."""

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


# -- tests ------------------------------------------------------------------------------------

import pytest  # noqa: E402

from dtcli.contracts.errors import DtError  # noqa: E402


@pytest.fixture
def rows():
    return LICHESS_ROWS + random_rows(33, seed=3)


@pytest.mark.parametrize("layout,compress", [(10, None), (9, None), (10, "gz"), (9, "zst"), (10, "zst")])
def test_loader_yields_the_reference_tensors(registry, tmp_path, rows, layout, compress):
    path = write_csv(tmp_path / f"puzzles.csv{'.' + compress if compress else ''}", rows, layout, compress)
    chess_problem = registry.problem("chess", {"source": str(path)})
    n = len(rows)
    x, y = chess_problem.dataset("train", f"0:{n}", n, seed=0)
    ref_x, ref_y, ratings = reference_tensors(rows)
    assert x.dtype == torch.uint8 and y.dtype == torch.uint8
    assert x.shape == (n, 12, 8, 8) and y.shape == (n, 8, 8)
    assert torch.equal(x.float(), ref_x) and torch.equal(y.long(), ref_y)
    # index ranges are slices of the rating-sorted puzzles, rating ranges select by rating
    xs, ys = chess_problem.dataset("test", "3:10", 7, seed=0)
    assert torch.equal(xs.float(), ref_x[3:10]) and torch.equal(ys.long(), ref_y[3:10])
    keep = [i for i, r in enumerate(ratings) if 1000 <= r <= 1500]
    xr, _ = chess_problem.dataset("test", "1000-1500", 500, seed=0)
    assert torch.equal(xr.float(), ref_x[keep])


def test_reference_defaults_and_subsets(registry, tmp_path, rows):
    path = write_csv(tmp_path / "p.csv", rows)
    p = registry.problem("chess", {"source": str(path)})
    assert (p.default_train_difficulty, p.default_test_difficulty) == ("0:600000", "600000:700000")
    x_all, _ = p.dataset("train", "0:600000", len(rows), seed=0)  # train = the first 600,000
    assert len(x_all) == len(rows)
    sub, _ = p.dataset("train", "0:600000", 10, seed=5)
    again, _ = p.dataset("train", "0:600000", 10, seed=5)
    assert torch.equal(sub, again) and len(sub) == 10
    with pytest.raises(DtError, match="only 40 puzzles"):
        p.dataset("train", "0:600000", 41, seed=0)
    with pytest.raises(DtError, match="no puzzles"):
        p.dataset("test", "600000:700000", 10, seed=0)
    small, _ = p.dataset("test", "0:5", 100, seed=0)  # a test set may come out smaller
    assert len(small) == 5


def test_cache_follows_the_file(registry, tmp_path, rows):
    import os

    path = write_csv(tmp_path / "p.csv", rows[:20])
    p = registry.problem("chess", {"source": str(path)})
    first, _ = p.dataset("train", "0:100", 20, seed=0)
    assert list((tmp_path / "dt-home" / "data" / "chess").glob("*.safetensors"))
    write_csv(path, rows[20:40])
    os.utime(path, ns=(1, 1))
    p2 = registry.problem("chess", {"source": str(path)})
    second, _ = p2.dataset("train", "0:100", 20, seed=0)
    assert not torch.equal(first, second)


def test_difficulty_parsing(registry):
    p = registry.problem("chess")
    assert p.parse_difficulty("0:600000") == "0:600000"
    assert p.parse_difficulty(" 1800 - 2200 ") == "1800-2200"
    assert p.parse_difficulty("1000-") == "1000-"
    assert p.parse_difficulty(":100") == ":100"
    assert "rating 1800-2200" in p.describe_difficulty("1800-2200")
    for bad in ("abc", "5", "10:5", "2200-1800", ":", "-", "1:2:3"):
        with pytest.raises(DtError):
            p.parse_difficulty(bad)


def test_groups_are_rating_bands(registry, tmp_path, rows):
    path = write_csv(tmp_path / "p.csv", rows)
    p = registry.problem("chess", {"source": str(path)})
    labels, ids = p.groups("test", "0:100", 100, seed=0)
    _, _, ratings = reference_tensors(rows)
    assert labels == sorted({f"{r // 200 * 200}-{r // 200 * 200 + 199}" for r in ratings},
                            key=lambda s: int(s.split("-")[0]))
    assert [labels[i] for i in ids.tolist()] == [f"{r // 200 * 200}-{r // 200 * 200 + 199}" for r in ratings]


def test_bundled_puzzles_until_puzzles_are_generated(registry, tmp_path):
    from dt_chess import store

    p = registry.problem("chess")
    assert store.resolve_source("generated") == store.bundled_path()
    x, y = p.dataset("train", p.default_train_difficulty, 10, seed=0)
    assert len(x) == 10
    with pytest.raises(DtError, match=r"dt data generate chess --count \d+"):
        p.dataset("train", p.default_train_difficulty, 100_000, seed=0)
    store.generated_path().parent.mkdir(parents=True, exist_ok=True)
    store.generated_path().write_text(gzip.decompress(store.bundled_path().read_bytes())
                                      .decode().splitlines(keepends=True)[0])
    assert store.resolve_source("generated") == store.generated_path()


def test_bundled_puzzles_ship_with_dt(registry):
    """-o source=bundled: the puzzles the zoo model was trained and tested on, in the package,
    read like any Lichess-format file (dt's rating levels: easy ones to train, harder to test)."""
    p = registry.problem("chess", {"source": "bundled"})
    x, _ = p.dataset("train", p.default_train_difficulty, 50, seed=0)
    xt, _ = p.dataset("test", p.default_test_difficulty, 50, seed=0)
    assert len(x) == len(xt) == 50
    labels, ids = p.groups("test", p.default_test_difficulty, 50, seed=0)
    assert labels[0].startswith("1000") and len(labels) >= 4 and len(ids) == 50


def test_missing_and_broken_sources(registry, tmp_path):
    with pytest.raises(DtError, match="dt data fetch chess"):
        registry.problem("chess", {"source": "lichess"}).dataset("train", "0:10", 10, seed=0)
    with pytest.raises(DtError, match="not a file"):
        registry.problem("chess", {"source": str(tmp_path / "nope.csv")}).dataset("train", "0:1", 1, 0)
    junk = tmp_path / "junk.csv"
    junk.write_text("hello,world\n")
    with pytest.raises(DtError, match="no puzzles"):
        registry.problem("chess", {"source": str(junk)}).dataset("train", "0:1", 1, 0)
    bad = write_csv(tmp_path / "bad.csv", [("x1", "8/8/8/8/8/8/8/K6k w - - 0 1", "a1a5 h1h2", 900)])
    with pytest.raises(DtError, match="x1"):
        registry.problem("chess", {"source": str(bad)}).dataset("train", "0:1", 1, 0)
