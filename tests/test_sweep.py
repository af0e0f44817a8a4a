"""`dt sweep`: a grid of settings × seeds on the studies' runner, through the command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from helpers import TINY, one_line_error

#: TINY without its width and seed (the sweep's axes here), one epoch
SWEEP = [a for k, a in enumerate(TINY) if TINY[k - 1] not in ("--width", "--seed")
         and a not in ("--width", "--seed")]
SWEEP[SWEEP.index("--epochs") + 1] = "1"


def test_sweep_trains_the_grid_and_resumes(cli, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "prefix-sums", "--arch", "dt-recall", "--width", "4,6", "--seed", "0:2",
            *SWEEP, "--out", out]
    plan = json.loads(cli(*args, "--dry-run", "--json").stdout)
    assert [p["key"] for p in plan] == ["dt-recall-width4-s0", "dt-recall-width6-s0",
                                        "dt-recall-width4-s1", "dt-recall-width6-s1"]
    assert not out.exists()  # a dry run trains nothing

    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["complete"] and len(doc["runs"]) == 4
    for run in doc["runs"]:
        stored = json.loads((Path(run["run_dir"]) / "config.json").read_text())["train"]
        assert stored["width"] == run["settings"]["width"] and stored["seed"] == run["seed"]
    rows = {r["settings"]["width"]: r for r in doc["summary"]}
    assert rows[4]["runs"] == rows[6]["runs"] == 2 and rows[4]["seeds"] == [0, 1]
    peaks = [r["tests"]["12"]["peak"] for r in doc["runs"] if r["settings"]["width"] == 6]
    assert rows[6]["tests"]["12"]["peak_mean"] == sum(peaks) / 2
    with open(out / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["width"], r["seed"]) for r in table] == [("4", "0"), ("6", "0"), ("4", "1"),
                                                       ("6", "1")]

    # again: every run is done, nothing retrains, the same results come back
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/metrics.jsonl")}
    again = cli(*args, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["runs"] == doc["runs"]
    assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("runs/*/metrics.jsonl")}
    table_text = cli(*args).stdout
    assert "mean ± s.e. over seeds 0, 1" in table_text and "sweep complete" in table_text


def test_sweep_refuses_bad_grids_before_training(cli, tmp_path):
    base = ["sweep", "prefix-sums", "--arch", "dt-recall", *SWEEP, "--out", tmp_path / "s"]
    one_line_error(cli(*base, "--width", "4,x"), "--width", "'x'", quiet=True)
    one_line_error(cli(*base, "--width", "0,4"), "width", quiet=True)
    one_line_error(cli(*base, "--seed", "5:2"), "--seed", "empty", quiet=True)
    one_line_error(cli(*base, "--lr", ",".join(["1e-3"] + [f"{k}e-4" for k in range(1, 9)]),
                       "--width", ",".join(map(str, range(1, 40))), "--seed", "0:5"),
                   "runs (at most 1000)", quiet=True)
    assert not (tmp_path / "s").exists()
