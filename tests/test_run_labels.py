"""Run names, tags and notes (`dt train --name/--tag/--note`, `dt runs --tag`, `dt runs
label`) and the single-run view (`dt runs show`), through the user's commands."""

from __future__ import annotations

import json
import shutil

import pytest

from dtcli import runs
from helpers import TINY, one_line_error


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_named_tagged_run_is_found_filtered_and_relabelled(cli, in_tmp):
    made = cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--name", "baseline-w8",
               "--tag", "w8", "--tag", "first", "--note", "lr from the paper")
    assert made.exit_code == 0, made.output
    run_dir = in_tmp / "runs" / "baseline-w8"
    assert runs.read_labels(run_dir) == {"tags": ["w8", "first"], "note": "lr from the paper"}
    shutil.copytree(run_dir, in_tmp / "runs" / "untagged")
    (in_tmp / "runs" / "untagged" / runs.LABELS).unlink()

    rows = json.loads(cli("runs", "--json").stdout)
    assert {r["name"]: r["tags"] for r in rows} == {"baseline-w8": ["w8", "first"], "untagged": []}
    tagged = json.loads(cli("runs", "--tag", "w8", "--json").stdout)
    assert [r["name"] for r in tagged] == ["baseline-w8"]
    assert json.loads(cli("runs", "list", "--tag", "w8", "--tag", "nope", "--json").stdout) == []
    assert "w8, first" in cli("runs").stdout  # the table shows the tags under the name

    # relabel by name (looked up under runs/): add, remove, replace the note, then clear it
    out = json.loads(cli("runs", "label", "untagged", "--tag", "copy", "--json").stdout)
    assert out["tags"] == ["copy"] and out["note"] is None
    out = json.loads(cli("runs", "label", "baseline-w8", "--untag", "first", "--tag", "best",
                         "--note", "kept", "--json").stdout)
    assert out == {"run": "runs/baseline-w8", "tags": ["w8", "best"], "note": "kept"}
    assert json.loads(cli("runs", "label", "baseline-w8", "--note", "", "--json").stdout)["note"] is None

    one_line_error(cli("runs", "label", "baseline-w8", "--tag", "two words"), "--tag", "no spaces")
    one_line_error(cli("runs", "show", "nowhere"), "no run 'nowhere'")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--name", "a",
                       "--out", "b"), "--name and --out", quiet=True)
    one_line_error(cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--name", "../up"),
                   "--name", quiet=True)
    one_line_error(cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--name",
                       "baseline-w8"), "already holds a run")
    one_line_error(cli("train", "--resume", run_dir, "--tag", "x"), "dt runs label")

    (run_dir / runs.LABELS).write_text('{"tags": [3]}')  # damaged: its row says so
    rows = {r["run"]: r for r in json.loads(cli("runs", "--json").stdout)}
    assert rows["runs/baseline-w8"]["damaged"] == "damaged: labels.json"


def test_labels_of_a_run_that_never_starts_are_not_left_behind(cli, in_tmp):
    """A failed start (here: a test difficulty the problem refuses, found while setting up)
    leaves no directory holding only a labels file."""
    result = cli("train", "prefix-sums", "--arch", "dt-recall", *TINY, "--test-difficulty",
                 "0", "--name", "doomed", "--tag", "x")
    assert result.exit_code == 2, result.output
    assert not (in_tmp / "runs" / "doomed").exists()


def test_runs_show_prints_settings_labels_and_curves(cli, tiny_run, tmp_path):
    run_dir = tmp_path / "shown"
    shutil.copytree(tiny_run, run_dir)
    runs.write_labels(run_dir, ["w8"], "a note")
    text = cli("runs", "show", run_dir, env={"COLUMNS": "80"}).stdout
    assert "finished: 2 of 2 epochs" in text
    assert "prefix-sums · dt-recall" in text and "trained on 8 · tested on 12" in text
    assert "tags w8" in text and "note: a note" in text
    assert "settings not at dt's defaults:" in text and "width 8" in text
    assert "accuracy per epoch" in text and "test accuracy per iteration" in text
    assert max(len(line) for line in text.splitlines() if "command" not in line) <= 80

    doc = json.loads(cli("runs", "show", run_dir, "--json").stdout)
    assert doc["row"]["tags"] == ["w8"] and len(doc["metrics"]) == 2
    assert doc["config"]["train"]["width"] == 8 and "12" in doc["extrapolation"]["results"]

    figure = tmp_path / "curves.svg"
    assert cli("runs", "show", run_dir, "--plot", figure).exit_code == 0
    assert figure.read_text().lstrip().startswith("<?xml")
    one_line_error(cli("runs", "show", run_dir, "--plot", tmp_path / "curves.txt"), "--plot")

    (run_dir / runs.METRICS).write_text("not json\n")
    damaged = cli("runs", "show", run_dir)
    assert damaged.exit_code == 0 and "damaged" in damaged.stdout


def test_runs_group_keeps_the_listing_as_its_default(cli, tiny_run, tmp_path):
    shutil.copytree(tiny_run, tmp_path / "r" / "one")
    listed = cli("runs", tmp_path / "r", "--json")
    assert [r["name"] for r in json.loads(listed.stdout)] == ["one"]
    assert json.loads(cli("runs", "list", tmp_path / "r", "--json").stdout) == json.loads(listed.stdout)
    assert "show" in cli("runs", "--help").stdout


def test_run_names_complete_in_the_shell(tiny_run, in_tmp, monkeypatch, capsys):
    from dtcli.cli import app

    shutil.copytree(tiny_run, in_tmp / "runs" / "mine")
    (in_tmp / "runs" / "other-folder").mkdir()
    for key, value in {"_DT_COMPLETE": "complete_bash", "COMP_WORDS": "dt runs show mi",
                       "COMP_CWORD": "3"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit):
        app(prog_name="dt", args=[])
    assert capsys.readouterr().out.split() == ["mine"]
