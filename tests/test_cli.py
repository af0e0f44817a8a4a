"""Every command through Typer's CliRunner, including the one-line error policy."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import TINY, one_line_error


def test_help_and_version(cli):
    result = cli("--help")
    assert result.exit_code == 0 and "train" in result.stdout and "solve" in result.stdout
    assert cli("--version").stdout.startswith("dt ")


def test_plugins_and_list(cli):
    rows = json.loads(cli("plugins", "--json").stdout)
    from dtcli.plugins import BUILTIN_PLUGINS

    assert {r["name"] for r in rows} == set(BUILTIN_PLUGINS)
    assert all(r["status"] == "loaded" for r in rows)
    assert "dt_prefix_sums" in cli("plugins").stdout
    doc = json.loads(cli("list", "--json").stdout)
    assert {"mazes", "prefix-sums"} <= {p["name"] for p in doc["problems"]}
    assert all({"quick", "paper"} <= set(p["presets"]) for p in doc["problems"])
    archs = json.loads(cli("list", "archs", "--json").stdout)
    assert {"dt", "dt-recall", "ff", "ff-recall"} <= {a["name"] for a in archs}
    assert "recall_relu" in cli("list", "-v").stdout


def test_data_commands(cli, tmp_path):
    out = tmp_path / "d.safetensors"
    result = cli("data", "generate", "prefix-sums", "-d", "16", "-n", "30", "--out", out, "--json")
    info = json.loads(result.stdout)
    assert info["inputs"] == [30, 1, 16] and out.exists()
    assert "in " in cli("data", "show", "prefix-sums", "-d", "10", "-n", "2").stdout
    entries = json.loads(cli("data", "info", "--json").stdout)["entries"]
    # two shown instances are generated afresh, not cached
    assert {(e["count"], e["difficulty"]) for e in entries} == {(30, 16)}
    assert "1 data sets" in cli("data", "info").stdout


def test_train_dry_run_reports_reference_counts(cli):
    for arch, expected in (("dt", 2_642_400), ("dt-recall", 3_123_600)):
        doc = json.loads(cli("train", "prefix-sums", "--arch", arch, "--preset", "paper",
                             "--dry-run", "--json").stdout)
        assert doc["model"]["parameters"] == expected
        assert doc["config"]["width"] == 400 and doc["config"]["epochs"] == 150
    text = cli("train", "prefix-sums", "--arch", "dt", "--dry-run").stdout
    assert "effective depth" in text


def test_train_then_test_and_solve(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "finished" and summary["epochs"] == 2
    assert set(summary["extrapolation"]) == {"12"}
    assert json.loads((run / "config.json").read_text())["model"]["parameters"] > 0

    res = json.loads(cli("test", run, "-d", "12", "--iters", "1:10", "--count", "16",
                         "--mode", "fixed", "--mode", "max-conf", "--json").stdout)
    assert res["iters"] == list(range(1, 11)) and res["total"] == 16
    assert len(res["max-conf"]["accuracy"]) == 10
    result = cli("test", run, "-d", "12", "--iters", "1:40", "--count", "8")
    assert "best" in result.stdout and "iteration" in result.stdout
    # not a terminal: plain progress lines, at least one when the pass starts and one at its end
    assert ": 0% after 0:00" in result.stderr and ": 100% after" in result.stderr
    halted = json.loads(cli("test", run, "-d", "12", "--iters", "1:20", "--count", "8",
                            "--mode", "halt", "-k", "2", "--json").stdout)
    assert len(halted["halt"]["accuracy"]) == 20 and 0 <= halted["halt"]["compute_saved"] < 1
    assert halted["halt"]["cpu_seconds"] > 0  # the cost of a solved instance is read from it
    assert "compute saved" in cli("test", run, "-d", "12", "--iters", "1:20", "--count", "8",
                                  "--mode", "fixed", "--mode", "halt").stdout

    frames = json.loads(cli("solve", run, "-d", "12", "--iters", "6", "--json").stdout)["frames"]
    assert [f["iteration"] for f in frames] == [1, 2, 3, 4, 5, 6]
    for f in frames:  # bits right: whole when the string is, partial otherwise
        assert 0 <= f["position_acc"] <= 1 and (not f["correct"] or f["position_acc"] == 1)
    live = cli("solve", run, "--input", "0110100", "--iters", "3", "--fps", "0")
    assert live.exit_code == 0 and "iteration" in live.stdout and "0110100" in live.stdout
    assert cli("train", "--resume", run, "--epochs", "3").exit_code == 0
    assert json.loads((run / "config.json").read_text())["status"] == "finished"


def test_user_errors_are_one_line_exit_2(cli, tiny_run, tmp_path):
    one_line_error(cli("train", "prefix-sumz", "--arch", "dt"), "did you mean 'prefix-sums'")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt-recal"), "did you mean 'dt-recall'")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", "--train-difficulty", "0"),
                   "positive number of bits")
    one_line_error(cli("test", tiny_run, "-d", "-5"), "positive number of bits")
    one_line_error(cli("test", tmp_path / "missing"), "no model")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", "-o", "layout=e2h"), "has no option")
    one_line_error(cli("test", tiny_run, "--iters", "x"), "--iters")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", "--alpha", "2"), "--alpha")


def test_corrupt_checkpoint_is_one_line(cli, tiny_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    (run / "best.safetensors").write_bytes(b"\x00" * 50)
    one_line_error(cli("test", run), "damaged")
    (run / "best.safetensors").unlink()
    one_line_error(cli("solve", run), "no weights")
    result = cli("--debug", "solve", run)
    assert result.exit_code != 2 and "no weights" in str(result.exception)


def test_ff_refuses_more_iterations(cli, tmp_path):
    run = tmp_path / "ff"
    assert cli("train", "prefix-sums", "--arch", "ff", *TINY, "--out", run).exit_code == 0
    one_line_error(cli("test", run, "--iters", "1:9"), "at most 4 iterations")
    unasked = cli("test", run, "--count", "4", "--json")  # the default stops at its depth
    assert unasked.exit_code == 0 and json.loads(unasked.stdout)["iters"] == [1, 2, 3, 4]


def test_default_test_iterations_follow_the_model(cli, tiny_run):
    doc = json.loads((tiny_run / "config.json").read_text())
    res = json.loads(cli("test", tiny_run, "--count", "4", "--json").stdout)
    assert res["iters"] == list(range(1, 10 * doc["train"]["max_iters"] + 1))


def test_cli_does_not_import_torch():
    code = ("import sys; from dtcli.cli import build_app; build_app(); "
            "import dtcli.api; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run([sys.executable, "-m", "dtcli", "plugins", "--json"], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out)


def test_bench_reports_timings(cli):
    doc = json.loads(cli("bench", "prefix-sums", "--arch", "dt", "--width", "4", "--max-iters", "3",
                         "--batch-size", "8", "--steps", "2", "--infer-iters", "5",
                         "--infer-count", "4", "--json").stdout)
    assert doc["train_step"]["median_s"] > 0 and doc["inference"]["iters"] == 5
    assert doc["generate"]["count"] == 1000 and doc["peak_rss_mb"] > 0


def test_solve_verdict_tells_overthinking_apart(cli, tiny_run, monkeypatch):
    """Right once and wrong at the end is not reported as solved."""
    import dataclasses

    import dtcli.engine.solve as engine_solve

    real = engine_solve.solve

    def right_then_wrong(*args, **kwargs):
        for f in real(*args, **kwargs):
            yield dataclasses.replace(f, correct=f.iteration == 2,
                                      first_correct=2 if f.iteration >= 2 else None)

    monkeypatch.setattr(engine_solve, "solve", right_then_wrong)
    out = cli("solve", tiny_run, "-d", "8", "--iters", "4").stdout
    assert "correct at iteration 2, wrong again by iteration 4 (overthinking)" in out
    assert "solved:" not in out


def test_solve_names_a_diverged_thought(cli):
    """digits-recur-convnet thinking 100 iterations (trained for 5) overflows: the solve says
    so, per frame and in its verdict, instead of reporting a confident answer."""
    import json

    doc = json.loads(cli("solve", "digits-recur-convnet", "--iters", "100", "--json").stdout)
    at = next(f["diverged_at"] for f in doc["frames"] if f["diverged_at"] is not None)
    assert 5 < at < 100 and all(f["diverged_at"] == at for f in doc["frames"][at - 1:])
    out = cli("solve", "digits-recur-convnet", "--iters", "100").stdout
    assert f"diverged at iteration {at}" in out and "overthinking" not in out


def test_redirected_maze_solve_is_ascii_and_grep_able_lines(cli):
    """Output to a file: no half-block picture (it needs colours) but the maze in ASCII, each
    report on one line; a maze too large to read as text is one line."""
    out = cli("solve", "mazes-dt-recall", "-d", "15", "--iters", "40").stdout
    lines = out.splitlines()
    assert "▀" not in out
    key = next(k for k, line in enumerate(lines) if line.startswith("# wall"))
    grid = lines[key + 1:key + 1 + 17]  # a size-15 maze: 17 raw pixels a side with its wall
    assert all(len(row) == 17 and set(row) <= set("#.SE*ox") for row in grid), grid
    assert "".join(grid).count("S") == 1 and "".join(grid).count("E") == 1
    assert "*" in "".join(grid)  # the predicted path
    assert any(line.startswith("iteration   40/40") and "correct" in line for line in lines)
    assert lines[-1].startswith(("solved", "not solved", "correct at"))
    assert len(lines) == key + 1 + 17 + 2

    big = cli("solve", "mazes-dt-recall", "-d", "201", "--iters", "1").stdout.splitlines()
    assert "▀" not in "".join(big) and len(big) <= 4
    assert any("too large to draw as text" in line for line in big)
    assert "not yet ✗ (" in big[-2] and "% of cells right)" in big[-2]  # how far it got
