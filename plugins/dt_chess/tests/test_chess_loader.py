"""The chess loader: Lichess-format files (both layouts, compressed) against an independent
reference encoding, rating ranges and bands, the bundled and generated puzzles, bad sources."""

from __future__ import annotations

import gzip

import pytest
import torch

from chess_helpers import LICHESS_ROWS, random_rows, reference_tensors, write_csv
from dtcli.contracts.errors import DtError


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


def test_whole_line_trains_on_every_solver_move(registry, tmp_path):
    import chess

    from dt_chess.encoding import encode_board, encode_move

    # solver moves per line: 2 (a2e6, f7f8), 1, 3 and 2
    rows = LICHESS_ROWS[:4]
    path = write_csv(tmp_path / "lines.csv", rows)
    expected = []  # every solver position of every line, replayed here independently
    for _, fen, moves, _ in sorted(rows, key=lambda r: r[3]):
        board, line = chess.Board(fen), moves.split()
        for k, uci in enumerate(line):
            if k % 2 == 1:
                expected.append((encode_board(board), encode_move(chess.Move.from_uci(uci),
                                                                  board.turn == chess.BLACK)))
            board.push_uci(uci)
    assert len(expected) == 2 + 1 + 3 + 2
    whole = registry.problem("chess", {"source": str(path), "line": "all"})
    x, y = whole.dataset("train", "0:4", 4, seed=0)
    # --train-count counts positions: 4 positions, whole lines in the drawn puzzles' order
    assert len(x) == 4
    firsts = registry.problem("chess", {"source": str(path)}).dataset("train", "0:4", 4, seed=0)[0]
    seen = {bytes(p.numpy()) for p in x}
    assert seen <= {bytes(e[0]) for e in expected} and bytes(firsts[0].numpy()) == bytes(x[0].numpy())
    for planes, target in zip(x, y):
        match = [e for e in expected if bytes(e[0]) == bytes(planes.numpy())]
        assert any((m[1] == target.numpy()).all() for m in match)
    # tests keep the first move of each puzzle
    xt, _ = whole.dataset("test", "0:4", 4, seed=0)
    assert {bytes(p.numpy()) for p in xt} == {bytes(p.numpy()) for p in firsts}
