"""Chess through the CLI: train a tiny model on a Lichess-format file, test it per rating band,
solve a FEN, reject a bad one."""

from __future__ import annotations

import json

import pytest

from chess_helpers import LICHESS_ROWS, random_rows, write_csv

FEN = "r1bqkbnr/pppp1ppp/8/4p3/2BnP3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4"


@pytest.fixture(scope="module")
def chess_run(tmp_path_factory):
    """One tiny chess run trained on a 103-puzzle file, shared by this module's tests."""
    from typer.testing import CliRunner

    from dtcli.cli import app
    from dtcli.plugins import reset_registry

    root = tmp_path_factory.mktemp("chess")
    source = write_csv(root / "puzzles.csv.gz", LICHESS_ROWS + random_rows(96, seed=11), compress="gz")
    mp = pytest.MonkeyPatch()
    mp.setenv("DT_HOME", str(root / "dt-home"))
    reset_registry()
    run_dir = root / "run"
    result = CliRunner().invoke(app, [
        "train", "chess", "--arch", "dt-recall", "-o", f"source={source}", "--width", "8",
        "--max-iters", "3", "--epochs", "1", "--batch-size", "16", "--train-count", "64",
        "--test-count", "16", "--test-iters", "4", "--train-difficulty", "0:80",
        "--test-difficulty", "80:103", "--seed", "1", "--out", str(run_dir)])
    mp.undo()
    reset_registry()
    assert result.exit_code == 0, result.output
    return run_dir, source


def test_dry_run_paper_preset(cli):
    result = cli("train", "chess", "--arch", "dt-recall", "--preset", "paper", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    cfg = json.loads(result.stdout)
    cfg = cfg["config"]
    assert (cfg["width"], cfg["max_iters"], cfg["alpha"], cfg["optimizer"], cfg["lr"]) == (512, 30, 0.5, "sgd", 0.01)
    assert (cfg["epochs"], cfg["lr_milestones"], cfg["batch_size"], cfg["warmup_epochs"]) == (130, [100, 115], 300, 10)


def test_test_reports_bands_and_legal_moves(cli, chess_run):
    run_dir, _ = chess_run
    result = cli("test", run_dir, "-d", "1000-2999", "--iters", "1:5", "-n", "40", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["iters"] == [1, 2, 3, 4, 5]
    assert "verified" in doc and "groups" in doc
    assert all(v >= f for v, f in zip(doc["verified"]["correct"], doc["fixed"]["correct"]))
    assert doc["groups"]["labels"][0] == "1200-1399" and sum(doc["groups"]["totals"]) == doc["total"]
    table = cli("test", run_dir, "-d", "80:103", "--iters", "1:4")
    assert table.exit_code == 0, table.output
    assert "legal move %" in table.output and "by group" in table.output  # one name everywhere
    assert "accuracy vs iterations" in table.output


def test_solve_a_fen(cli, chess_run):
    run_dir, _ = chess_run
    result = cli("solve", run_dir, "--fen", FEN, "--iters", "3", "--fps", "0")
    assert result.exit_code == 0, result.output
    assert "White to move" in result.output and "prediction:" in result.output


def test_solve_a_puzzle_file_knows_the_answer(cli, chess_run, tmp_path):
    run_dir, _ = chess_run
    pid, fen, moves, rating = LICHESS_ROWS[3]
    puzzle = tmp_path / "puzzle.csv"
    puzzle.write_text(f"{pid},{fen},{moves},{rating}\n")
    result = cli("solve", run_dir, "--input", puzzle, "--iters", "2", "--json")
    assert result.exit_code == 0, result.output
    frames = json.loads(result.stdout)["frames"]
    assert len(frames) == 2 and frames[0]["correct"] is not None and frames[0]["verified"] is not None


def test_solve_rejects_a_bad_fen_in_one_line(cli, chess_run):
    run_dir, _ = chess_run
    for bad in ("rnbqkbnr/pppppppp/8/8 w KQkq - 0 1", "8/8/8/8/8/8/8/8 w - - 0 1"):
        result = cli("solve", run_dir, "--fen", bad)
        assert result.exit_code == 2
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:")


def test_solve_a_dataset_instance(cli, chess_run):
    run_dir, _ = chess_run
    result = cli("solve", run_dir, "-d", "80:103", "--iters", "2", "--fps", "0")
    assert result.exit_code == 0, result.output
    assert "to move" in result.output and "solution:" in result.output


def test_zoo_card_holds_rating_bands_and_legal_moves(cli, chess_run, tmp_path, monkeypatch):
    """A chess card states exact and legal-move accuracy per rating band; dt zoo test re-measures
    every one of those claims (on the card's own seed: exactly)."""
    run_dir, _ = chess_run
    monkeypatch.setenv("DT_ZOO_DIR", str(tmp_path / "zoo"))
    (tmp_path / "zoo").mkdir()
    added = cli("zoo", "add", run_dir, "--name", "tiny-chess", "-d", "1000-2999@40",
                "--iters", "1,3", "--curve", "0", "--verified", "--seed", "3")
    assert added.exit_code == 0, added.output
    row = json.loads(cli("zoo", "show", "tiny-chess", "--json").stdout)["extrapolation"]["results"][0]
    assert len(row["verified"]) == 2 and all(v >= a for v, a in zip(row["verified"], row["accuracy"]))
    assert sum(b["count"] for b in row["bands"]) == row["count"]
    assert all(len(b["verified"]) == 2 for b in row["bands"])
    same = json.loads(cli("zoo", "test", "tiny-chess", "--seed", "3", "--json").stdout)
    kinds = [(c["kind"], c["metric"]) for c in same["card"]]
    assert kinds[:2] == [("table", "fixed"), ("table", "verified")]
    assert kinds.count(("band", "verified")) == len(row["bands"])
    assert [m["accuracy"] for m in same["measured"]] == [c["accuracy"] for c in same["card"]]
    shown = cli("zoo", "show", "tiny-chess").stdout
    assert "legal move" in shown and row["bands"][0]["label"] in shown


def test_zoo_card_measured_on_another_source(cli, chess_run, tmp_path, monkeypatch):
    """dt zoo add -o source=FILE measures the card on FILE and gives the model that source
    wherever it is loaded: the training file may be gone (a chess model trained on a local file,
    its card measured on the puzzles dt ships)."""
    import shutil

    run_dir, source = chess_run
    monkeypatch.setenv("DT_ZOO_DIR", str(tmp_path / "zoo"))
    (tmp_path / "zoo").mkdir()
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    other = tmp_path / "elsewhere.csv.gz"
    shutil.copyfile(source, other)
    train_file = tmp_path / "train.csv.gz"
    shutil.copyfile(source, train_file)
    config = json.loads((run / "config.json").read_text())
    config["train"]["problem_options"]["source"] = str(train_file)
    (run / "config.json").write_text(json.dumps(config))
    added = cli("zoo", "add", run, "--name", "moved-chess", "-d", "1000-2999@40", "--iters", "1,3",
                "--curve", "0", "--seed", "3", "-o", f"source={other}")
    assert added.exit_code == 0, added.output
    train_file.unlink()
    card = json.loads(cli("zoo", "show", "moved-chess", "--json").stdout)
    assert card["problem_options"]["source"] == str(other)
    assert card["train"]["problem_options"]["source"] == str(train_file)
    same = cli("zoo", "test", "moved-chess", "--seed", "3", "--json")
    assert same.exit_code == 0, same.output
    doc = json.loads(same.stdout)
    assert [m["accuracy"] for m in doc["measured"]] == [c["accuracy"] for c in doc["card"]]
    assert cli("test", "moved-chess", "-d", "1000-2999", "-i", "2", "-n", "8").exit_code == 0


def test_test_reports_baselines_beside_the_model(cli, chess_run):
    """dt test scores the random legal move and the one-ply heuristic on the very puzzles the
    model is tested on, overall and per rating band, in the table and in --json."""
    run_dir, source = chess_run
    result = cli("test", run_dir, "-d", "1000-2999", "--iters", "1:3", "-n", "40", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rules = doc["baselines"]
    assert list(rules) == ["random legal move", "greedy 1-ply"]
    from dt_chess.problem import ChessPuzzles

    problem = ChessPuzzles(source=str(source))
    scores = problem.baselines("test", problem.parse_difficulty("1000-2999"), 40, 0)
    for name, rule in rules.items():
        assert rule["accuracy"] == pytest.approx(100 * scores[name].mean().item())
        assert list(rule["groups"]) == doc["groups"]["labels"]
        assert all(0.0 <= v <= 100.0 for v in rule["groups"].values())
    # the groups average back to the whole set
    totals = dict(zip(doc["groups"]["labels"], doc["groups"]["totals"]))
    mean = sum(rules["greedy 1-ply"]["groups"][g] * n for g, n in totals.items()) / doc["total"]
    assert mean == pytest.approx(rules["greedy 1-ply"]["accuracy"])
    table = cli("test", run_dir, "-d", "1000-2999", "--iters", "1:3", "-n", "40")
    assert table.exit_code == 0, table.output
    assert "baselines on the same 40 instances: random legal move" in table.output
    assert "greedy" in table.output.split("by group")[1]  # a column of the per-band table
