"""The model zoo: add a run, list, show, re-test, load by name, refuse damaged weights."""

from __future__ import annotations

import io
import json

import pytest


@pytest.fixture
def zoo_dir(tmp_path, monkeypatch):
    root = tmp_path / "zoo"
    root.mkdir()
    monkeypatch.setenv("DT_ZOO_DIR", str(root))
    return root


def test_add_list_show_test_and_load(cli, tiny_run, zoo_dir, tmp_path):
    result = cli("zoo", "add", tiny_run, "--name", "tiny-ps", "-d", "12", "-d", "16@30/4,8",
                 "--iters", "4,8,12", "--curve", "12", "--count", "20",
                 "--seed", "5", "--summary", "a tiny test model",
                 "--note", "stopped early", "--curve-only", "20@6")
    assert result.exit_code == 0, result.output
    models = json.loads(cli("zoo", "list", "--json").stdout)
    assert models["tiny-ps"]["problem"] == "prefix-sums"
    card = json.loads(cli("zoo", "show", "tiny-ps", "--json").stdout)
    rows = card["extrapolation"]["results"]
    assert rows[1]["difficulty"] == 16 and (rows[0]["count"], rows[1]["count"]) == (20, 30)
    assert rows[0]["iters"] == [4, 8, 12] and rows[1]["iters"] == [4, 8]  # a row's own iterations
    assert rows[0]["curve"]["count"] == 20 and rows[1]["curve"]["count"] == 30
    assert len(card["extrapolation"]["results"][0]["curve"]["accuracy"]) == 12
    curve_row = rows[2]  # shown on the curve, not on the table
    assert curve_row["difficulty"] == 20 and curve_row["iters"] == [] and curve_row["count"] == 6
    assert len(curve_row["curve"]["accuracy"]) == 12
    shown = cli("zoo", "show", "tiny-ps").stdout
    assert "accuracy vs iterations" in shown and "note: stopped early" in shown
    # every claim comes back on the card's own seed, exactly: the table rows and the
    # curve-only row at the table's iterations and its best
    same = json.loads(cli("zoo", "test", "tiny-ps", "--seed", "5", "--json").stdout)
    assert [r["accuracy"] for r in same["measured"]] == [r["accuracy"] for r in same["card"]]
    assert [r["kind"] for r in same["card"]] == ["table", "table", "curve"]
    assert same["card"][2]["count"] == 6 and set(same["card"][2]["iters"]) >= {4, 8, 12}
    assert "within its tolerance" in cli("zoo", "test", "tiny-ps", "--seed", "5").stdout
    # a smaller --count re-uses the first instances of the same seed (nested sampling)
    fewer = json.loads(cli("zoo", "test", "tiny-ps", "--seed", "5", "--count", "3", "--json").stdout)
    assert all(r["count"] == 3 for r in fewer["measured"])
    # a zoo name works wherever a model is expected
    frames = json.loads(cli("solve", "tiny-ps", "-d", "8", "--iters", "3", "--json").stdout)
    assert len(frames["frames"]) == 3
    assert cli("test", "tiny-ps", "-d", "12", "--iters", "4", "--count", "4").exit_code == 0


def test_flipped_byte_is_refused(cli, tiny_run, zoo_dir):
    assert cli("zoo", "add", tiny_run, "--name", "tiny-ps", "-d", "12", "--iters", "4",
               "--curve", "0", "--count", "4").exit_code == 0
    weights = zoo_dir / "tiny-ps.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01
    weights.write_bytes(bytes(data))
    result = cli("solve", "tiny-ps", "--iters", "2")
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "sha256" in lines[0]


def test_unknown_zoo_name(cli, zoo_dir):
    result = cli("zoo", "show", "nope")
    assert result.exit_code == 2 and "no zoo model" in result.stderr


def test_shipped_index_is_consistent():
    """Every model the installed zoo lists has a card whose sha256 matches its weights."""
    from dtcli import zoo

    for name in zoo.index():
        doc = zoo.card(name)
        assert zoo.weights(name, doc).stat().st_size <= 5_000_000
        assert doc["extrapolation"]["results"]


def test_agreement_follows_the_counts():
    from dtcli.zoo import agrees, allowed_range

    assert agrees(50, 1000, 55, 1000) and not agrees(50, 1000, 58, 1000)  # ±2.2 points s.e.
    assert agrees(50, 50, 70, 50)  # 50 mazes: 20 points is chance
    assert agrees(100, 1000, 99.5, 1000) and not agrees(100, 1000, 99.0, 1000)  # 5 vs 10 misses
    assert agrees(0, 200, 0.5, 200)
    lo, hi = allowed_range(50, 1000, 1000)
    assert 42 < lo < 45 and 55 < hi < 58 and agrees(50, 1000, lo + 0.1, 1000)
    assert allowed_range(100, 1000, 1000)[1] == 100.0


def test_test_sets_are_nested(registry):
    """The first N instances of a seed do not depend on the count asked for."""
    import torch

    for name, d in (("mazes", 9), ("prefix-sums", 16)):
        p = registry.problem(name)
        x5, y5 = p.dataset("test", d, 5, seed=3)
        x40, y40 = p.dataset("test", d, 40, seed=3)
        assert torch.equal(x5, x40[:5]) and torch.equal(y5, y40[:5])
        assert not torch.equal(x40[:16], x40[16:32])  # chunks differ


def test_solved_within_agrees_with_dt_test(cli, capsys):
    """benchmarks/solved_within.py counts each instance ever correct; at every scored
    iteration the number correct cannot exceed it, and at the last it equals dt test's."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "solved_within.py"
    spec = importlib.util.spec_from_file_location("solved_within", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = ["mazes-dt-recall", "-d", "21", "-n", "6", "--seed", "3", "--iters", "40", "--every", "1"]
    assert mod.main(args + ["--json"]) == 0
    mine = json.loads(capsys.readouterr().out)
    res = cli("test", "mazes-dt-recall", "-d", "21", "-n", "6", "--seed", "3", "-i", "1:40", "--json")
    assert res.exit_code == 0, res.output
    theirs = json.loads(res.stdout)
    correct = [round(a * 6 / 100) for a in theirs["fixed"]["accuracy"]]
    assert mine["correct_at_last"] == correct[-1]
    assert max(correct) <= mine["solved_within"] <= 6
    firsts = [f for f in mine["first_correct"] if f is not None]
    assert min(firsts, default=None) == next((i + 1 for i, c in enumerate(correct) if c), None)


def test_zoo_test_table_keeps_every_figure_whole_in_80_columns(monkeypatch):
    """A log file is 80 columns wide: the allowed range must not be cut to "94.9–100…"."""
    from rich.console import Console

    from dtcli.cli import zoo_cmd

    out = io.StringIO()
    monkeypatch.setattr(zoo_cmd, "console", Console(width=80, file=out))
    ext = {"seed": 1000, "mode": "fixed", "count": 200,
           "results": [{"difficulty": 59, "count": 200, "iters": [300, 1000],
                        "accuracy": [99.5, 97.5]},
                       {"difficulty": 201, "count": 5, "iters": [500], "accuracy": [40.0]}]}
    measured = [{"count": 200, "accuracy": [94.0, 97.5]}, {"count": 5, "accuracy": [0.0]}]
    assert zoo_cmd.show_table(ext, measured) is False  # 94.0 lies outside 94.9–100.0
    rows = [line for line in out.getvalue().splitlines() if line.startswith("│")]
    assert len(rows) == 3 and "…" not in out.getvalue()
    assert rows[0].rstrip().endswith("94.9–100.0 │")


def test_zoo_list_fits_80_columns_one_line_a_model(cli):
    """Names whole, one line a model (the summary is cut, never wrapped a word a line)."""
    from dtcli import zoo

    out = cli("zoo", "list").stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    first_cells = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert sorted(first_cells) == sorted(zoo.index())  # every name whole, on one row
    assert len(lines) <= len(zoo.index()) + 8
