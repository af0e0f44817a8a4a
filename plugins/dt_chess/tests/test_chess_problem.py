"""Chess puzzles: predictions as the reference, legal-move verification, FEN input, the board."""

from __future__ import annotations

import chess
import pytest
import torch
from rich.console import Console

from dtcli.contracts.errors import DtError

FEN_BLACK = "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R b KQkq - 3 3"
# after 1. e4 e5 2. Nf3 Nc6 3. Bc4 Nd4?: White to move, Nxe5 is legal
FEN_WHITE = "r1bqkbnr/pppp1ppp/8/4p3/2BnP3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4"


@pytest.fixture
def chess_problem(registry):
    return registry.problem("chess")


def reference_predicted(outputs: torch.Tensor) -> torch.Tensor:
    """deep-thinking's get_predicted for chess (testing.py), without einops."""
    outputs = outputs.clone().view(outputs.size(0), outputs.size(1), -1)
    top_2 = torch.topk(outputs[:, 1], 2, dim=1)[0].min(dim=1)[0]
    top_2 = top_2[:, None].expand(-1, 64)
    outputs[:, 1][outputs[:, 1] < top_2] = -float("Inf")
    outputs[:, 0] = -float("Inf")
    return outputs.argmax(1)


def square_index(name: str, black: bool = False) -> int:
    sq = chess.parse_square(name)
    return chess.square_mirror(sq) if black else sq


def test_predict_is_the_reference_top2(chess_problem):
    x = chess_problem.parse_instance(FEN_WHITE).inputs.unsqueeze(0).repeat(16, 1, 1, 1).float()
    logits = torch.randn(16, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    logits[3, 1, 0, :3] = 9.0  # a three-way tie: the reference keeps all three
    pred = chess_problem.predict(logits, x)
    assert pred.shape == (16, 8, 8)
    assert torch.equal((pred & 1).view(16, -1).long(), reference_predicted(logits))
    legal = ((pred >> 1) & 1).view(16, -1)
    assert (legal.sum(1) == 2).all()  # every decoded legal move has a from and a to square


def test_verify_reads_the_best_legal_move(chess_problem):
    x = chess_problem.parse_instance(FEN_WHITE).inputs.unsqueeze(0).float()
    target = torch.zeros(1, 64, dtype=torch.long)
    target[0, [square_index("f3"), square_index("e5")]] = 1
    target = target.view(1, 8, 8)
    logits = torch.zeros(1, 2, 64)
    logits[0, 1, square_index("f3")] = 10.0
    logits[0, 1, square_index("h6")] = 9.0  # f3-h6 is no move: the top-2 squares are wrong
    logits[0, 1, square_index("e5")] = 8.0
    logits = logits.view(1, 2, 8, 8)
    pred = chess_problem.predict(logits, x)
    assert not chess_problem.correct(pred, target).item()
    assert chess_problem.verify(pred, x, target).item()  # ...but Nxe5 is the best legal move
    logits2 = logits.clone().view(1, 2, 64)
    logits2[0, 1, square_index("e5")] = -5.0
    pred2 = chess_problem.predict(logits2.view(1, 2, 8, 8), x)
    assert not chess_problem.verify(pred2, x, target).item()
    exact = torch.full((1, 2, 64), -3.0)
    exact[0, 1, [square_index("f3"), square_index("e5")]] = 3.0
    pred3 = chess_problem.predict(exact.view(1, 2, 8, 8), x)
    assert chess_problem.correct(pred3, target).item() and chess_problem.verify(pred3, x, target).item()


def test_fen_input_and_orientation(chess_problem):
    inst = chess_problem.parse_instance(FEN_BLACK)
    x = inst.inputs
    assert x.shape == (12, 8, 8) and x.dtype == torch.uint8
    # Black to move: its king (plane 0) is on e8, shown on row 0 (the frame is mirrored)
    assert x[0, 0, 4] == 1 and x[6, 7, 4] == 1 and x[5, 1].sum() == 7 and x[5, 3, 4] == 1
    assert inst.target is None and "state" in inst.extras
    console = Console(record=True, width=80, color_system=None)
    console.print(chess_problem.render(x, extras=inst.extras))
    text = console.export_text()
    assert "Black to move" in text and "♚" in text and "♔" in text
    # without the instance's extras the planes alone say nothing of who moves: the frame
    # position (the mover as White) is drawn, and nothing is kept between calls
    console = Console(record=True, width=80, color_system=None)
    console.print(chess_problem.render(x))
    assert "Black to move" not in console.export_text()


def test_lichess_row_input_knows_its_answer(chess_problem):
    row = "00sO1,1k1r4/pp3pp1/2p1p3/4b3/P3n1P1/8/KPP2PN1/3rBR1R b - - 2 31,b8c7 e1a5 b7b6 f1d1,998,85,94,293,x,y,"
    inst = chess_problem.parse_instance("PuzzleId,FEN,Moves,Rating\n" + row)
    x, target = inst.inputs, inst.target
    assert target is not None and target.sum() == 2
    assert target.view(-1)[square_index("e1")] == 1 and target.view(-1)[square_index("a5")] == 1
    logits = torch.full((1, 2, 64), -4.0)
    logits[0, 1, [square_index("e1"), square_index("a5")]] = 4.0
    pred = chess_problem.predict(logits.view(1, 2, 8, 8), x.unsqueeze(0).float())
    console = Console(record=True, width=80, color_system=None)
    console.print(chess_problem.render(x, pred[0], target, torch.rand(8, 8), extras=inst.extras))
    text = console.export_text()
    assert "White to move" in text and "prediction: Ba5+" in text and "solution: Ba5+" in text
    assert "found" in text


@pytest.mark.parametrize("text,message", [
    ("not a fen", "not a FEN"),
    ("8/8/8/8/8/8/8/8 w - - 0 1", "illegal position"),
    ("k7/8/8/8/8/8/8/K6Q b - - 0 1" + "x", "not a FEN"),
    ("7k/6Q1/6K1/8/8/8/8/8 b - - 0 1", "checkmate"),
    ("", "no position"),
    ("id,8/8/8/8/8/8/8/K6k w - - 0 1,a1a5 h1h2", "not legal"),
])
def test_bad_instances_are_one_line_errors(chess_problem, text, message):
    with pytest.raises(DtError, match=message) as info:
        chess_problem.parse_instance(text)
    assert "\n" not in str(info.value)


def test_frame_rendering_without_known_state(chess_problem):
    x = torch.zeros(12, 8, 8, dtype=torch.uint8)
    x[0, 0, 6] = 1  # the mover's king on g1, the opponent's on g8, a mover's rook on a7
    x[6, 7, 6] = 1
    x[4, 6, 0] = 1
    logits = torch.full((1, 2, 64), -1.0)
    logits[0, 1, [square_index("a7"), square_index("a8")]] = 2.0
    pred = chess_problem.predict(logits.view(1, 2, 8, 8), x.unsqueeze(0).float())
    console = Console(record=True, width=80, color_system=None)
    console.print(chess_problem.render(x, pred[0]))
    text = console.export_text()
    assert "side to move drawn as White" in text and "prediction: Ra8+" in text


def test_planes_round_trip_and_frame_moves():
    import random

    from dt_chess.encoding import encode_board, frame_square, legal_pairs, pack_state, piece_codes, real_board

    rng = random.Random(4)
    for _ in range(40):
        board = chess.Board()
        for _ in range(rng.randint(1, 60)):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(rng.choice(moves))
        if board.is_game_over():
            continue
        code = piece_codes(encode_board(board)[None])[0]
        back = real_board(code, pack_state(board))
        assert back.fen(en_passant="fen").split()[:4] == board.fen(en_passant="fen").split()[:4]
        black = board.turn == chess.BLACK
        real = {(frame_square(m.from_square, black), frame_square(m.to_square, black))
                for m in board.legal_moves if not board.is_castling(m) and not board.is_en_passant(m)}
        frame = {tuple(p) for p in legal_pairs(code).tolist()}
        assert real <= frame  # the frame adds at most castling moves the planes cannot rule out
