"""The researcher's workflow: config files, TensorBoard tracking, dt runs, dt compare."""

from __future__ import annotations

import json

import pytest

from dtcli import runs

TINY = ["--width", "4", "--max-iters", "3", "--epochs", "2", "--batch-size", "10",
        "--train-count", "40", "--test-count", "6", "--test-iters", "5",
        "--train-difficulty", "6", "--test-difficulty", "8"]


def test_config_file_round_trip_and_precedence(cli, tmp_path):
    saved = tmp_path / "a.toml"
    first = cli("train", "mazes", "--arch", "dt-recall", "--width", "16", "--lr", "0.002",
                "--clip", "0.5", "--dry-run", "--json", "--save-config", saved)
    assert first.exit_code == 0, first.output
    again = cli("train", "--config", saved, "--dry-run", "--json")
    assert again.exit_code == 0, again.output
    a, b = json.loads(first.stdout), json.loads(again.stdout)
    assert a["config"] == b["config"]  # the file resolves to exactly the same settings
    assert b["sources"]["lr"] == f"file {saved}" and a["sources"]["lr"] == "flag"
    assert a["sources"]["max_iters"] == "preset quick" and a["sources"]["depth"] == "default"
    flag = json.loads(cli("train", "--config", saved, "--width", "8", "--dry-run", "--json").stdout)
    assert flag["config"]["width"] == 8 and flag["sources"]["width"] == "flag"  # a flag wins
    shown = cli("train", "--config", saved, "--dry-run").stdout
    assert "(preset quick)" in shown and "file " in shown


@pytest.mark.parametrize("text, needle", [("widht = 3\n", "unknown key 'widht' (did you mean 'width'?)"),
                                          ('lr = "fast"\n', "lr must be a number"),
                                          ("epochs = -2\n", "epochs must be at least 1"),
                                          ("width = [\n", "not a readable TOML file")])
def test_bad_config_files_are_one_line(cli, tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = cli("train", "mazes", "--arch", "dt", "--config", path, "--dry-run")
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and needle in lines[0], result.stderr
    assert str(path) in lines[0]


def test_tensorboard_events_read_back(cli, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    result = cli("train", "prefix-sums", "--arch", "dt", *TINY, "--tensorboard", "--out", run)
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/accuracy", "train/lr", "val/accuracy", "train/batch_loss",
            "extrapolation/8/fixed"} <= tags
    metrics = runs.read_metrics(run)
    assert [e.value for e in events.Scalars("train/loss")] == pytest.approx(
        [r["train_loss"] for r in metrics])
    assert [e.step for e in events.Scalars("extrapolation/8/fixed")] == [1, 2, 3, 4, 5]
    assert runs.read_run_config(run)["train"]["trackers"] == ["tensorboard"]


def test_unknown_tracker_is_one_line(cli, tmp_path):
    result = cli("train", "prefix-sums", "--arch", "dt", *TINY, "--track", "wandb",
                 "--out", tmp_path / "r")
    assert result.exit_code == 2 and "unknown tracker 'wandb'" in result.stderr


@pytest.fixture
def three_runs(cli, tmp_path):
    root = tmp_path / "runs"
    for name, seed, width in (("a1", 1, 4), ("a2", 2, 4), ("b1", 1, 6)):
        result = cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--width", str(width),
                     "--seed", str(seed), "--out", root / name)
        assert result.exit_code == 0, result.output
    return root


def test_runs_lists_and_filters(cli, three_runs, tmp_path):
    rows = json.loads(cli("runs", three_runs, "--json").stdout)
    assert {r["name"] for r in rows} == {"a1", "a2", "b1"}
    assert all(r["status"] == "finished" and r["epochs"] == r["planned"] == 2 for r in rows)
    assert all(r["peak"]["difficulty"] == "8" for r in rows)
    assert json.loads(cli("runs", three_runs, "--status", "failed", "--json").stdout) == []
    by_name = [r["name"] for r in json.loads(cli("runs", three_runs, "--sort", "-name",
                                                  "--json").stdout)]
    assert by_name == ["b1", "a2", "a1"]
    (three_runs / "a2" / runs.CONFIG).write_text("{broken")
    rows = json.loads(cli("runs", three_runs, "--json").stdout)
    assert [r["status"] for r in rows if r["run"].endswith("a2")] == ["damaged"]
    assert "a1" in cli("runs", three_runs).stdout
    assert cli("runs", tmp_path / "nowhere").exit_code == 2


def test_compare_groups_filters_and_plots(cli, three_runs, tmp_path):
    args = [three_runs / "a1", three_runs / "a2", three_runs / "b1"]
    doc = json.loads(cli("compare", *args, "--json").stdout)
    assert [c["label"] for c in doc["curves"]] == ["a1", "a2", "b1"]
    assert all(not c["measured"] for c in doc["curves"])  # read from extrapolation.json
    groups = {g["settings"]["width"]: g for g in doc["groups"]}
    assert groups["4"]["n"] == 2 and groups["6"]["n"] == 1
    mean, se = groups["4"]["peak"]
    peaks = [c["peak"][1] for c in doc["curves"][:2]]
    assert mean == pytest.approx(sum(peaks) / 2) and se is not None
    fresh = json.loads(cli("compare", *args, "-d", "10", "--iters", "1:4", "--count", "5",
                           "--json").stdout)
    assert all(c["measured"] and c["iters"] == [1, 2, 3, 4] for c in fresh["curves"])
    again = json.loads(cli("compare", *args, "--fresh", "--count", "7", "--json").stdout)
    assert all(c["measured"] and c["count"] == 7 for c in again["curves"])  # none read
    ext = three_runs / "a2" / "extrapolation.json"
    doc = json.loads(ext.read_text())
    doc["results"]["8"]["total"] = 12  # as if a2 had been tested on 12 strings, a1 on 6
    ext.write_text(json.dumps(doc))
    mixed_counts = cli("compare", *args, "--plot", tmp_path / "mixed.png")
    assert mixed_counts.exit_code == 0, mixed_counts.output
    assert "averages runs measured on 6 and 12 instances" in mixed_counts.stdout
    assert json.loads(cli("compare", *args, "--json").stdout)["groups"][0]["counts"] == [6, 12]
    assert "averages" not in cli("compare", *args, "--fresh", "--count", "6").stdout
    assert cli("compare", *args, "--min-train-acc", "101").exit_code == 2
    filtered = cli("compare", *args, "--min-train-acc", "99")
    assert "--min-train-acc 99: dropped" in filtered.stdout
    mixed = cli("compare", three_runs / "a1", "nope")
    assert mixed.exit_code == 2 and "no model 'nope'" in mixed.stderr


def test_runs_listing_keeps_default_names_whole_at_80_columns(cli, tiny_run, tmp_path):
    """Three runs with dt's default names (problem-arch-date-time): every line within 80
    columns, each name whole on one row; columns of less value give way instead."""
    import shutil

    root = tmp_path / "many"
    names = ["prefix-sums-dt-recall-20261207-131600", "prefix-sums-dt-recall-20261207-131601",
             "prefix-sums-dt-recall-20261207-140102"]
    for name in names:
        shutil.copytree(tiny_run, root / name)
    lines = cli("runs", str(root)).stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert sorted(line.split()[0] for line in lines if line.strip().startswith("prefix")) == names
    assert "3 runs" in lines[0]
