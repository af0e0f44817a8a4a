"""The offline puzzle generator: mate fallback, Stockfish labels, resuming, workers, fetch."""

from __future__ import annotations

import hashlib
import json

import chess
import pytest

from dtcli.contracts.errors import DtError


def puzzles_of(path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith("PuzzleId,FEN,Moves,Rating")
    return [line.split(",") for line in lines[1:]]


def replay(fen: str, moves: str) -> tuple[chess.Board, chess.Move]:
    board = chess.Board(fen)
    line = [chess.Move.from_uci(m) for m in moves.split()]
    for move in line:
        assert board.is_legal(move), (fen, moves)
        board.push(move)
    return board, line


@pytest.fixture
def no_stockfish(monkeypatch):
    monkeypatch.setenv("DT_STOCKFISH", "none")


def test_mate_fallback_resumes_and_loads(cli, tmp_path, no_stockfish):
    out = tmp_path / "mates.csv"
    result = cli("data", "generate", "chess", "--count", "3", "-o", "workers=1", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["generator"].startswith("mates") and summary["added"] == 3
    rows = puzzles_of(out)
    assert len(rows) == 3
    for pid, fen, moves, rating, *_ in rows:
        board, line = replay(fen, moves)
        assert board.is_checkmate() and len(line) in (2, 4)
        assert int(rating) == (600 if len(line) == 2 else 1000)
    # a killed run leaves half a line: the next run cuts it and continues after the last unit
    with open(out, "a") as fh:
        fh.write("dt-mate-0-999-1,8/8/8")
    result = cli("data", "generate", "chess", "--count", "2", "-o", "workers=1", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    rows = puzzles_of(out)
    ids = [r[0] for r in rows]
    assert len(rows) == 5 and len(set(ids)) == 5 and "dt-mate-0-999-1" not in ids
    units = [int(i.split("-")[3]) for i in ids]
    assert units == sorted(units) and units[3] > units[2]
    assert json.loads(result.stdout)["total"] == 5


def test_generated_file_is_the_default_source(cli, registry, no_stockfish, tmp_path):
    result = cli("data", "generate", "chess", "-n", "4", "-o", "workers=1", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dt-home" / "data" / "chess" / "puzzles.csv").exists()
    x, y = registry.problem("chess").dataset("train", "0:4", 4, seed=0)
    assert x.shape == (4, 12, 8, 8) and int(y.sum()) == 8


def test_workers_do_not_change_the_output(tmp_path, no_stockfish):
    from dt_chess.generate import generate_puzzles

    files = []
    for workers in (1, 2):
        path = tmp_path / f"w{workers}.csv"
        generate_puzzles(path, 4, 7, "mates", None, 8, workers, lambda done, total: None)
        files.append(path.read_text())
    assert files[0] == files[1]


def test_engine_lookup(monkeypatch, tmp_path):
    from dt_chess.generate import find_stockfish

    monkeypatch.setenv("DT_STOCKFISH", "none")
    assert find_stockfish() is None
    monkeypatch.setenv("DT_STOCKFISH", str(tmp_path / "missing"))
    with pytest.raises(DtError, match="DT_STOCKFISH"):
        find_stockfish()


def test_stockfish_required_but_missing(cli, no_stockfish):
    result = cli("data", "generate", "chess", "-n", "1", "-o", "generator=stockfish")
    assert result.exit_code == 2 and "needs Stockfish and none was found" in result.output


def _stockfish():
    from dt_chess.generate import find_stockfish

    try:
        return find_stockfish()
    except DtError:
        return None


@pytest.mark.skipif(_stockfish() is None, reason="Stockfish is not installed")
def test_stockfish_puzzles(cli, registry, tmp_path):
    out = tmp_path / "sf.csv"
    result = cli("data", "generate", "chess", "-n", "3", "-o", "workers=1", "-o", "engine_depth=5",
                 "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["generator"].startswith("stockfish") and summary["added"] == 3
    for pid, fen, moves, rating, *rest in puzzles_of(out):
        board, line = replay(fen, moves)
        assert pid.startswith("dt-sf-0-") and len(line) == 2
        assert int(rating) in {400 + 200 * level for level in range(1, 6)}
        assert "oneMove" in rest[3]
    x, _ = registry.problem("chess", {"source": str(out)}).dataset("train", "0:3", 3, seed=0)
    assert len(x) == 3


def test_fetch_reports_a_checksum(cli, tmp_path, monkeypatch):
    from chess_helpers import LICHESS_ROWS, write_csv

    src = write_csv(tmp_path / "src.csv.zst", LICHESS_ROWS, compress="zst")
    monkeypatch.setenv("DT_LICHESS_URL", src.as_uri())
    result = cli("data", "fetch", "chess")
    assert result.exit_code == 0, result.output
    got = tmp_path / "dt-home" / "data" / "chess" / "downloads" / "lichess_db_puzzle.csv.zst"
    record = got.with_name(got.name + ".sha256").read_text().split()[0]
    assert record == hashlib.sha256(src.read_bytes()).hexdigest()
    result = cli("data", "show", "chess", "-o", "source=lichess", "-d", "0:3", "-n", "2")
    assert result.exit_code == 0 and "solution:" in result.output


def test_fetch_without_network_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DT_LICHESS_URL", (tmp_path / "nowhere.zst").as_uri())
    result = cli("data", "fetch", "chess")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot download")
