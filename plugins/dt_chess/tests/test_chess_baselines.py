"""The rules ``dt test`` reports beside a chess model: a random legal move and the one-ply
heuristic (mate in one, else the most valuable capture by the least valuable attacker, else any
move), each on hand-made positions, then through the problem's ``baselines`` hook on a file."""

from __future__ import annotations

import chess
import pytest

from chess_helpers import write_csv
from dt_chess.baselines import one_ply_candidates, puzzle_baselines, random_candidates, solve_rate


def _sans(board: chess.Board, moves) -> set[str]:
    return {board.san(m) for m in moves}


def _squares(board: chess.Board, san: str) -> frozenset[int]:
    move = board.parse_san(san)
    return frozenset((move.from_square, move.to_square))


def test_one_ply_takes_mate_in_one_over_a_queen():
    # Ra8 mates on the back rank; gxh5 would win the queen: mate comes first
    board = chess.Board("6k1/5ppp/8/7q/6P1/8/8/R5K1 w - - 0 1")
    why, moves = one_ply_candidates(board)
    assert (why, _sans(board, moves)) == ("mate", {"Ra8#"})
    assert solve_rate(moves, _squares(board, "Ra8#")) == 1.0
    assert solve_rate(moves, _squares(board, "gxh5")) == 0.0


def test_one_ply_takes_the_queen_not_the_pawn():
    # the rook can take a pawn on a7 or the queen on d5: the most valuable victim wins
    board = chess.Board("4k3/p7/8/3q4/8/8/8/R2RK3 w - - 0 1")
    why, moves = one_ply_candidates(board)
    assert (why, _sans(board, moves)) == ("capture", {"Rxd5"})
    assert solve_rate(moves, _squares(board, "Rxa7")) == 0.0


def test_one_ply_takes_with_the_least_valuable_attacker_and_splits_ties():
    # a pawn and a rook both attack the queen: the pawn takes
    board = chess.Board("4k3/8/8/3q4/4P3/8/8/3RK3 w - - 0 1")
    assert _sans(board, one_ply_candidates(board)[1]) == {"exd5"}
    # a knight and a bishop (both worth 3) attack it: either, each half the time
    board = chess.Board("4k3/8/8/3q4/8/2N5/8/4K2B w - - 0 1")
    why, moves = one_ply_candidates(board)
    assert (why, _sans(board, moves)) == ("capture", {"Nxd5", "Bxd5"})
    assert solve_rate(moves, _squares(board, "Nxd5")) == 0.5


def test_one_ply_without_mate_or_capture_is_the_random_move():
    board = chess.Board("4k3/8/8/8/8/8/4P3/4K3 w - - 0 1")
    why, moves = one_ply_candidates(board)
    assert why == "any" and set(moves) == set(random_candidates(board))
    assert solve_rate(moves, _squares(board, "e4")) == pytest.approx(1 / 6)


def test_random_legal_move_expectation():
    # king and pawn against king: Kd1 Kd2 Kf1 Kf2 e3 e4, one of six
    board = chess.Board("4k3/8/8/8/8/8/4P3/4K3 w - - 0 1")
    moves = random_candidates(board)
    assert len(moves) == 6
    assert solve_rate(moves, _squares(board, "e4")) == pytest.approx(1 / 6)
    # the four promotions share their squares: the model's exact-squares measure counts all
    board = chess.Board("8/P7/8/8/8/8/8/k1K5 w - - 0 1")
    moves = random_candidates(board)
    assert solve_rate(moves, _squares(board, "a8=Q")) == pytest.approx(4 / len(moves))


def test_the_hook_scores_a_puzzle_file_black_to_move_and_en_passant(tmp_path):
    from dt_chess.problem import ChessPuzzles

    rows = [
        # after h2h3 Black promotes a2a1 (4 of Black's 7 legal moves share the squares; no
        # mate, no capture): both rules 4/7, in the mirrored frame
        ("promo", "8/8/8/8/8/k7/p6P/2K5 w - - 0 1", "h2h3 a2a1q", 1500),
        # after d7d5 exd6 e.p. is White's only capture: the real position's en passant counts
        ("enpas", "4k3/3p4/8/4P3/8/8/8/4K3 b - - 0 1", "d7d5 e5d6", 998),
        # a back-rank mate the heuristic finds, Black to move
        ("mate1", "r5k1/8/8/8/8/8/5PPP/6K1 w - - 0 1", "g1h1 a8a1", 1700),
    ]
    source = write_csv(tmp_path / "p.csv", rows)
    problem = ChessPuzzles(source=str(source))
    rates = problem.baselines("test", "0:", 10, 0)
    assert list(rates) == ["random legal move", "greedy 1-ply"]
    data = problem.data_record("test", "0:", 10, 0)
    expect = {"promo": (4 / 7, 4 / 7), "enpas": (1 / 7, 1.0), "mate1": (None, 1.0)}
    for i, rating in enumerate(data["ratings"].tolist()):
        name = {1500: "promo", 998: "enpas", 1700: "mate1"}[rating]
        random_rate, one_ply = expect[name]
        if random_rate is not None:
            assert rates["random legal move"][i].item() == pytest.approx(random_rate), name
        assert rates["greedy 1-ply"][i].item() == pytest.approx(one_ply), name
    # without the side to move the frame position is scored: no en passant there
    blind = puzzle_baselines(data["inputs"], data["targets"])
    enpas = data["ratings"].tolist().index(998)
    assert blind["greedy 1-ply"][enpas].item() == 0.0


def test_problems_have_no_baselines_by_default():
    from dtcli.api import Problem

    assert Problem().baselines("test", 1, 4, 0) == {}
