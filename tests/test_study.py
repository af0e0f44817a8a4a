"""``dt study depth``: planning, training every (member, depth, seed), resuming, results."""

from __future__ import annotations

import csv
import json

import pytest

from dtcli.contracts.errors import DtError

pytest.importorskip("sklearn")

TINY = ["--epochs", "1", "--width", "8", "--train-count", "100", "--test-count", "30",
        "--batch-size", "50"]


def test_mean_and_standard_error():
    from dtcli.experiments.stats import mean_se

    assert mean_se([3.0]) == (3.0, None)
    mean, se = mean_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(1 / 3 ** 0.5)


def test_plan_checks_family_and_depths(registry, tmp_path):
    from dtcli.experiments.depth import default_depths, plan_study

    plan = plan_study("images", "resnet", out=tmp_path, registry=registry)
    assert plan.members == ["recur-resnet", "resnet"] and plan.depths == [7, 11, 15, 19]
    assert plan.seeds == [0, 1, 2]
    assert default_depths(registry.arch("dt")) == [8, 12, 16, 20]
    with pytest.raises(DtError, match="no architecture family 'nope'"):
        plan_study("images", "nope", out=tmp_path, registry=registry)
    with pytest.raises(DtError, match="not one of them"):
        plan_study("images", "resnet", depths=[7, 9], out=tmp_path, registry=registry)
    with pytest.raises(DtError, match="cannot solve"):
        plan_study("mazes", "convnet", out=tmp_path, registry=registry)


def test_study_on_digits_prints_table_and_plot_and_writes_results(cli, tmp_path):
    out = tmp_path / "study"
    result = cli("study", "depth", "images", "--family", "convnet", "--depths", "4,5",
                 "--seeds", "2", *TINY, "--out", out)
    assert result.exit_code == 0, result.output
    assert "recur-convn" in result.output and "± " in result.output
    assert "test accuracy vs effective depth" in result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"] and len(doc["runs"]) == 8 and len(doc["summary"]) == 4
    rows = {(r["arch"], r["depth"]): r for r in doc["summary"]}
    assert rows[("convnet", 5)]["parameters"] > rows[("recur-convnet", 5)]["parameters"]
    assert rows[("recur-convnet", 4)]["iterations"] == 1 and rows[("convnet", 5)]["runs"] == 2
    with open(out / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and {r["arch"] for r in table} == {"convnet", "recur-convnet"}
    run = json.loads((out / "runs" / "convnet-d5-s1" / "config.json").read_text())["train"]
    assert (run["alpha"], run["seed"], run["depth"], run["max_iters"], run["test_iters"]) == (0.0, 1, 5, 2, 2)
    # a second invocation trains nothing and reports the same (as JSON)
    again = cli("study", "depth", "images", "--family", "convnet", "--depths", "4,5",
                "--seeds", "2", *TINY, "--out", out, "--json", "--plot", tmp_path / "depth.png")
    assert again.exit_code == 0, again.output
    assert (tmp_path / "depth.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc2 = json.loads(again.stdout[again.stdout.index("{"):])
    assert [r["test_acc"] for r in doc2["runs"]] == [r["test_acc"] for r in doc["runs"]]
    # other settings in the same directory are refused
    other = cli("study", "depth", "images", "--family", "convnet", "--depths", "4",
                "--seeds", "1", *TINY[:-2], "--batch-size", "25", "--out", out)
    assert other.exit_code == 2 and "batch_size" in other.output


def test_interrupted_study_resumes(registry, tmp_path):
    from dtcli.experiments.depth import plan_study, run_study
    from dtcli.experiments.runner import StudyListener

    plan = plan_study("images", "mlp", depths=[3, 4], seeds=[0], out=tmp_path / "s",
                      overrides={"epochs": 2, "width": 8, "train_count": 100, "test_count": 20,
                                 "batch_size": 50}, registry=registry)
    stop = {"now": False}

    class Count(StudyListener):
        def __init__(self):
            self.states = []

        def on_run_start(self, index, total, spec, state):
            self.states.append((spec.key, state))

        def engine_listener(self, spec):
            from dtcli.engine.events import Listener

            class StopAfterFirstEpoch(Listener):
                def on_epoch_end(self, record):
                    if index_of[spec.key] == 2 and record["epoch"] == 1:
                        stop["now"] = True  # the third run stops after one of its two epochs

            return StopAfterFirstEpoch()

    index_of = {"recur-mlp-d3-s0": 0, "mlp-d3-s0": 1, "recur-mlp-d4-s0": 2, "mlp-d4-s0": 3}

    def cancel_in_third_run():
        return stop["now"]

    first = Count()
    doc = run_study(plan, registry=registry, listener=first, cancel=cancel_in_third_run)
    assert not doc["complete"] and len(doc["runs"]) == 2
    assert [s for _, s in first.states] == ["new", "new", "new"]
    second = Count()
    doc = run_study(plan, registry=registry, listener=second)
    assert doc["complete"] and len(doc["runs"]) == 4
    assert [s for _, s in second.states] == ["done", "done", "resume", "new"]
    resumed = json.loads((tmp_path / "s" / "runs" / "recur-mlp-d4-s0" / "config.json").read_text())
    assert resumed["status"] == "finished"


def test_study_runs_the_maze_dt_family(registry, tmp_path):
    from dtcli.experiments.depth import plan_study, run_study

    plan = plan_study("mazes", "dt", depths=[8, 12], seeds=[0], out=tmp_path / "m",
                      overrides={"epochs": 1, "width": 4, "train_count": 40, "test_count": 10,
                                 "batch_size": 20}, registry=registry)
    doc = run_study(plan, registry=registry)
    rows = {(r["arch"], r["depth"]): r for r in doc["summary"]}
    assert set(rows) == {("dt", 8), ("dt", 12), ("ff", 8), ("ff", 12)}
    assert rows[("ff", 12)]["parameters"] > rows[("dt", 12)]["parameters"] == rows[("dt", 8)]["parameters"]
    cfg = json.loads((tmp_path / "m" / "runs" / "ff-d12-s0" / "config.json").read_text())["train"]
    assert cfg["max_iters"] == 2 and cfg["test_difficulties"] == ["9"] and cfg["alpha"] == 0.0


def test_unknown_family_is_one_line(cli):
    result = cli("study", "depth", "images", "--family", "transformer")
    assert result.exit_code == 2 and "no architecture family" in result.output


def test_plot_legend_names_identical_curves_once():
    from dtcli.cli.plot import legend

    flat = ([1, 2, 3], [0.0, 0.0, 0.0])
    drawn = [("a s0", *flat), ("b s0", [1, 2, 3], [0.0, 50.0, 90.0]), ("a s1", *flat), ("b s1", *flat)]
    line = legend(drawn, color=False).plain
    assert line.count("━━") == 2
    assert "a s0 (the same: a s1, b s1)" in line and "b s0" in line
