"""The legal-move head (``-o target=move``, dt_chess.moves): its legal-move masks are
python-chess's, it never predicts an illegal move whatever the logits, its loss is finite and
blind to illegal pairs, and a tiny model trains, tests and solves through the CLI."""

from __future__ import annotations

import json
from itertools import islice

import chess
import numpy as np
import pytest
import torch

from chess_helpers import LICHESS_ROWS, random_rows, write_csv

# hand-made positions where the 12 piece planes alone would get legality wrong, and others
FENS = [
    "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1",  # every castling right
    "r3k2r/8/8/8/8/8/8/R3K2R w - - 0 1",  # king and rooks at home, no right left
    "r3k2r/8/8/8/8/8/8/R3K2R b Kq - 0 1",  # Black: long castling only
    "r3k2r/8/8/8/8/8/8/R3K2R w Qk - 0 1",
    "r3k2r/8/8/8/8/8/8/R3K2R w K - 0 1",  # White's right, Black's rook on h8 loses nothing
    "4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2",  # en passant for White
    "4k3/8/8/8/3Pp3/8/8/4K3 b - d3 0 1",  # en passant for Black
    "4k3/8/8/3pP3/8/8/8/4K3 w - - 0 2",  # the same squares, no en passant
    "8/8/8/8/8/k7/p6P/2K5 b - - 0 1",  # a promotion (four moves, one pair)
    "4k3/8/8/8/8/8/4r3/4K3 w - - 0 1",  # in check
    "4k3/4r3/8/8/8/8/4B3/4K3 w - - 0 1",  # a pinned bishop
    "r1bqkbnr/pppp1ppp/8/4p3/2BnP3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
    "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR b KQkq - 0 1",
]


def planes(boards: list[chess.Board], state: bool = True) -> torch.Tensor:
    """The move head's (N, 13, 8, 8) inputs of ``boards`` (12 planes when not ``state``)."""
    from dt_chess.encoding import encode_board, pack_state
    from dt_chess.moves import with_state_plane

    x = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
    return with_state_plane(x, [pack_state(b) for b in boards]) if state else x


def mask_moves(mask_row: torch.Tensor) -> set[int]:
    return set(torch.nonzero(mask_row).flatten().tolist())


@pytest.fixture(scope="module")
def bundled():
    """~200 real positions: every 20th of the first 4,000 bundled puzzles, each its board
    (python-chess, from the FEN) and solution."""
    from dt_chess import lichess, store

    out = []
    for row in islice(lichess.iter_rows(store.bundled_path()), 0, 4000, 20):
        out.append(lichess.puzzle_position(row.fen, row.moves))
    return out


def test_masks_are_python_chess_legal_moves_on_hand_made_positions():
    from dt_chess.moves import frame_moves, legal_mask_cpu

    boards = [chess.Board(f) for f in FENS]
    mask = legal_mask_cpu(planes(boards))
    for board, row in zip(boards, mask):
        assert mask_moves(row) == frame_moves(board), board.fen()
    # without the state plane, lost castling rights and en passant are guessed wrong
    guessed = legal_mask_cpu(planes(boards, state=False))
    assert mask_moves(guessed[1]) != frame_moves(boards[1])  # castling without a right
    assert mask_moves(guessed[5]) != frame_moves(boards[5])  # en passant missed


def test_state_plane_marks_castling_rooks_and_en_passant_in_the_frame():
    from dt_chess.encoding import pack_state
    from dt_chess.moves import state_plane

    plane = state_plane([pack_state(chess.Board(FENS[2]))])[0]  # Black: K (h1), q (a8)
    # seen from Black, a8 is the mover's a1 and h1 the opponent's h8
    assert sorted(zip(*plane.nonzero())) == [(0, 0), (7, 7)]
    ep = state_plane([pack_state(chess.Board(FENS[6]))])[0]  # Black may take on d3
    assert sorted(zip(*ep.nonzero())) == [(5, 3)]  # frame rank 6, file d


def test_masks_match_python_chess_on_bundled_puzzles(bundled):
    from dt_chess.moves import frame_moves, legal_mask_cpu

    boards = [board for board, _ in bundled]
    assert len(boards) >= 190
    mask = legal_mask_cpu(planes(boards))
    for board, row in zip(boards, mask):
        assert mask_moves(row) == frame_moves(board), board.fen()


def _assert_legal(problem, logits, x, boards):
    """Each prediction's best move (ordered) and its flagged squares are a legal move."""
    from dt_chess.encoding import frame_square, move_between
    from dt_chess.moves import frame_moves, masked_scores

    best = masked_scores(logits, x)[0].argmax(1)
    flags = problem.predict(logits, x)
    for i, board in enumerate(boards):
        assert int(best[i]) in frame_moves(board), board.fen()
        black = board.turn == chess.BLACK
        squares = {frame_square(int(s), black) for s in torch.nonzero(flags[i].flatten() == 3)}
        assert move_between(board, squares) is not None, board.fen()
        assert int((flags[i] > 0).sum()) == 2


def test_predict_never_returns_an_illegal_move(bundled):
    from dt_chess.moves import legal_mask_cpu
    from dt_chess.problem import ChessPuzzles

    problem = ChessPuzzles(target="move")
    boards = [board for board, _ in bundled] + [chess.Board(f) for f in FENS]
    x = planes(boards).float()
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):  # random logits
        _assert_legal(problem, torch.randn(len(x), 64, 8, 8, generator=gen) * 10, x, boards)
    # adversarial: every illegal pair scores far above every legal one
    legal = legal_mask_cpu(x)
    scores = torch.where(legal, -50.0, 50.0) + torch.randn(legal.shape, generator=gen)
    logits = scores.reshape(len(x), 64, 64).transpose(1, 2).reshape(len(x), 64, 8, 8)
    _assert_legal(problem, logits, x, boards)
    # top-2 squares and the best legal move are one move: verify adds nothing to correct
    _, targets = _targets(bundled)
    pred = problem.predict(logits[:len(bundled)], x[:len(bundled)])
    assert torch.equal(problem.verify(pred, x[:len(bundled)], targets),
                       problem.correct(pred, targets))


def _targets(bundled):
    from dt_chess.encoding import encode_move

    x = planes([board for board, _ in bundled]).float()
    y = torch.stack([torch.from_numpy(encode_move(move, board.turn == chess.BLACK))
                     for board, move in bundled]).long()
    return x, y


def test_loss_is_finite_and_blind_to_illegal_pairs(bundled):
    from dt_chess.moves import MOVES, legal_mask_cpu, target_index
    from dt_chess.problem import ChessPuzzles

    problem = ChessPuzzles(target="move")
    x, y = _targets(bundled)
    # the solution's index is a legal move (the origin is the mover's piece)
    legal = legal_mask_cpu(x)
    index = target_index(y, x)
    assert bool(legal[torch.arange(len(x)), index].all())
    logits = torch.randn(len(x), 64, 8, 8, generator=torch.Generator().manual_seed(1),
                         requires_grad=True)
    loss = problem.loss(logits, y, x)
    assert bool(torch.isfinite(loss.detach())) and loss.item() > 0
    loss.backward()
    grad = logits.grad.reshape(len(x), 64, 64).transpose(1, 2).reshape(len(x), MOVES)
    assert float(grad[~legal].abs().max()) == 0.0 and float(grad[legal].abs().max()) > 0
    # raising illegal pairs changes nothing; a sure solution costs nearly nothing
    with torch.no_grad():
        louder = logits.detach().reshape(len(x), 64, 64).transpose(1, 2).reshape(len(x), MOVES)
        louder = torch.where(legal, louder, louder + 1e4)
        back = louder.reshape(len(x), 64, 64).transpose(1, 2).reshape(len(x), 64, 8, 8)
        assert float(problem.loss(back, y, x)) == pytest.approx(float(loss), rel=1e-5)
        sure = torch.full((len(x), MOVES), -20.0)
        sure[torch.arange(len(x)), index] = 20.0
        sure = sure.reshape(len(x), 64, 64).transpose(1, 2).reshape(len(x), 64, 8, 8)
        assert float(problem.loss(sure, y, x)) < 1e-6
        pred = problem.predict(sure, x)
        assert bool(problem.correct(pred, y).all()) and bool(problem.verify(pred, x, y).all())
        conf = problem.confidence(sure, x)
        assert conf.shape == (len(x),) and float(conf.min()) > 0.99
        assert float(problem.position_confidence(sure, x).min()) > 0.99
        # elsewhere: on the predicted squares, the chance the move touches them, else not
        from dt_chess.moves import move_probabilities

        p = move_probabilities(logits.detach(), x).reshape(len(x), 64, 64)
        touch = (p.sum(2) + p.sum(1)).reshape(y.shape)
        flagged = problem.predict(logits.detach(), x) > 0
        per_square = problem.position_confidence(logits.detach(), x)
        assert torch.allclose(per_square[flagged], touch[flagged], atol=1e-6)
        assert torch.allclose(per_square[~flagged], 1 - touch[~flagged], atol=1e-6)
    assert problem.loss_weight(y, x) == len(x)
    # a solution the planes cannot show (12 planes: no en passant) stays finite
    board = chess.Board("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2")
    from dt_chess.encoding import encode_move

    x12 = planes([board], state=False).float()
    y12 = torch.from_numpy(encode_move(chess.Move.from_uci("e5d6"), False))[None].long()
    assert torch.isfinite(problem.loss(torch.zeros(1, 64, 8, 8), y12, x12))


def test_mirror_augmentation_keeps_legal_moves_legal(bundled):
    from dt_chess.moves import castling_possible, legal_mask_cpu, mirror_files, target_index

    x, y = _targets(bundled)
    fx, fy = mirror_files(x, y, torch.Generator().manual_seed(0))
    flipped = (fx != x).flatten(1).any(1)
    assert bool(flipped.any()) and not bool(flipped[castling_possible(x)].any())
    # the mirrored solution is a legal move of the mirrored position
    legal = legal_mask_cpu(fx)
    assert bool(legal[torch.arange(len(fx)), target_index(fy, fx)].all())
    # and mirroring maps legal moves to legal moves
    def files(index):
        return (index // 64 // 8 * 8 + 7 - index // 64 % 8) * 64 + (index % 64 // 8 * 8 + 7 - index % 8)
    before = legal_mask_cpu(x)
    for i in torch.nonzero(flipped).flatten().tolist()[:20]:
        assert {files(m) for m in mask_moves(before[i])} == mask_moves(legal[i])


def test_move_head_trains_tests_and_solves(cli, tmp_path):
    """A tiny dt-recall with the legal-move head: trained, tested (every prediction is a legal
    move, so the legal-move column equals the exact one) and solving a FEN."""
    from dt_chess import lichess
    from dt_chess.moves import frame_moves, masked_scores
    from dtcli.engine.model import load_model

    source = write_csv(tmp_path / "puzzles.csv", LICHESS_ROWS + random_rows(96, seed=11))
    run_dir = tmp_path / "run"
    result = cli("train", "chess", "--arch", "dt-recall", "-o", f"source={source}",
                 "-o", "target=move", "-o", "mirror=1", "--width", "8", "--max-iters", "3",
                 "--epochs", "1", "--batch-size", "16", "--train-count", "64", "--test-count",
                 "16", "--test-iters", "3", "--train-difficulty", "0:80",
                 "--test-difficulty", "80:103", "--seed", "1", "--out", str(run_dir))
    assert result.exit_code == 0, result.output
    tested = cli("test", run_dir, "-d", "0:103", "--iters", "1:3", "-n", "40", "--json")
    assert tested.exit_code == 0, tested.output
    doc = json.loads(tested.stdout)
    assert doc["verified"]["correct"] == doc["fixed"]["correct"]
    # every prediction of the trained net, at every iteration, is a legal move
    loaded = load_model(run_dir)
    problem = loaded.problem
    assert problem.move_head and problem.in_channels == 13
    record = problem.data_record("test", problem.parse_difficulty("0:103"), 40, 0)
    rows = {int(r) for r in record["rows"]}
    boards = {row.number: lichess.puzzle_position(row.fen, row.moves)[0]
              for row in lichess.iter_rows(source) if row.number in rows}
    x = record["inputs"].float()
    with torch.no_grad():
        for iters in (1, 3, 6):
            logits, _ = loaded.net(x, iters)
            best = masked_scores(logits, x)[0].argmax(1)
            for i, r in enumerate(record["rows"].tolist()):
                assert int(best[i]) in frame_moves(boards[r])
    fen = "r3k2r/8/8/8/8/8/8/R3K2R w - - 0 1"
    solved = cli("solve", run_dir, "--fen", fen, "--iters", "3", "--fps", "0")
    assert solved.exit_code == 0, solved.output
    assert "prediction:" in solved.output and "(legal move)" in solved.output
