"""The hostile-input campaign, kept: each input that once broke a promise (one line, exit 2, no
traceback, nothing lost or half-written, no pickle run, a broken plugin never breaks dt)."""

from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dtcli import runs
from dtcli.contracts.errors import DtError
from dtcli.plugins import reset_registry
from helpers import make_dist, one_line_error

# -- plugins ---------------------------------------------------------------------------------

EXITS = "import sys\nsys.exit(3)\n"
INTERRUPTS = "raise KeyboardInterrupt\n"
STEALS_TRAIN = '''
from dtcli.api import hookimpl

@hookimpl
def register_commands(app):
    @app.command("train")
    def train():
        print("stolen")
'''
FAILS_TWICE = '''
from dtcli.api import hookimpl

@hookimpl
def register_problems(register):
    raise ValueError("first failure")

@hookimpl
def register_architectures(register):
    raise ValueError("second failure")
'''
BAD_CONSTRUCTOR = '''
from dtcli.api import hookimpl, Problem

class Grumpy(Problem):
    name = "grumpy"
    def __init__(self, **options):
        raise RuntimeError("I refuse to start")

@hookimpl
def register_problems(register):
    register(Grumpy)
'''


@pytest.fixture
def hostile_plugins(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for name, source in (("exits", EXITS), ("interrupts", INTERRUPTS), ("steals", STEALS_TRAIN),
                         ("twice", FAILS_TWICE), ("grumpy", BAD_CONSTRUCTOR)):
        make_dist(site, f"dt_{name}", {f"dt_{name}_mod": source}, {name: f"dt_{name}_mod"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("DTCLI_PLUGINS")
    reset_registry()
    return site


def test_plugins_that_exit_interrupt_steal_or_fail_twice_are_contained(hostile_plugins, runner):
    from dtcli.cli import build_app
    from dtcli.plugins import get_registry

    app = build_app()  # loads the plugins, adds their commands
    info = {p.name: p for p in get_registry().plugins}
    assert "SystemExit" in info["exits"].error and "KeyboardInterrupt" in info["interrupts"].error
    assert info["steals"].status == "failed" and "'train' is taken" in info["steals"].error
    assert len(info["twice"].errors) == 2  # both failures are listed
    assert info["dt_prefix_sums"].status == "loaded"
    listed = json.loads(runner.invoke(app, ["plugins", "--json"]).stdout)
    assert {p["name"] for p in listed if p["status"] == "failed"} >= {"exits", "interrupts",
                                                                      "steals", "twice"}
    assert "--max-iters" in runner.invoke(app, ["train", "--help"]).stdout  # the real one
    one_line_error(runner.invoke(app, ["train", "grumpy", "--arch", "dt"]), "plugin grumpy",
                   "failed to start")


def test_help_answers_without_torch_despite_a_plugin_that_exits(hostile_plugins):
    code = ("import sys\nfrom dtcli.cli import app\n"
            "try:\n    app(['--help'], prog_name='dt')\nexcept SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "assert 'torch' not in sys.modules, 'dt --help imported torch'\n")
    env = {**os.environ, "PYTHONPATH": str(hostile_plugins)}
    env.pop("DTCLI_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "train" in proc.stdout


# -- pickles and checkpoints ------------------------------------------------------------------


def test_shared_reference_pickle_does_not_hang():
    from dt_images.safe_pickle import MAX_OBJECTS, UnsafePickleError, safe_load

    nested: list = []
    for _ in range(48):
        nested = [nested, nested]  # 2^48 paths, 48 objects
    data = pickle.dumps(nested, protocol=2)
    assert len(data) < 500
    out = safe_load(data)  # converted once per object, not per path
    assert out[0] is out[1]
    wide = [[i] for i in range(MAX_OBJECTS)]
    with pytest.raises(UnsafePickleError, match="objects"):
        safe_load(pickle.dumps(wide, protocol=2))


def test_refused_checkpoint_never_suggests_unsafe_loading(tmp_path, tiny_run, cli):
    class Payload:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "ran"),))

    run = tmp_path / "run"
    run.mkdir()
    (run / runs.CONFIG).write_text((Path(tiny_run) / runs.CONFIG).read_text())
    torch.save({"epoch": 0, "model": Payload()}, run / runs.LAST)
    line = one_line_error(cli("train", "--resume", run), "refused", "run Python code")
    assert "weights_only" not in line and not (tmp_path / "ran").exists()


# -- run directories ---------------------------------------------------------------------------

TINY = ["--width", "4", "--max-iters", "3", "--epochs", "2", "--batch-size", "10",
        "--train-count", "40", "--test-count", "4", "--test-iters", "4",
        "--train-difficulty", "6", "--test-difficulty", "8", "--seed", "2"]


def test_a_run_killed_before_its_first_state_is_reused(tmp_path, cli):
    run = tmp_path / "run"
    assert cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run).exit_code == 0
    doc = json.loads((run / runs.CONFIG).read_text())
    doc["status"] = "running"
    (run / runs.CONFIG).write_text(json.dumps(doc))
    (run / runs.LAST).unlink()  # killed while its first last.pt was being written
    assert cli("train", "--resume", run).exit_code == 0  # starts it afresh
    assert runs.read_run_config(run)["status"] == "finished"
    (run / runs.LAST).unlink()
    assert cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run).exit_code == 0


def test_a_second_train_on_a_locked_run_is_refused(tmp_path, cli):
    run = tmp_path / "run"
    with runs.locked(run):
        one_line_error(cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run),
                       "being trained by another dt process", f"pid {os.getpid()}")
    assert not (run / runs.CONFIG).exists()  # nothing written by the refused run


def test_last_epoch_metrics_survive_a_kill_before_metrics_were_written(tmp_path, cli):
    run = tmp_path / "run"
    assert cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run).exit_code == 0
    lines = (run / runs.METRICS).read_text().splitlines()
    (run / runs.METRICS).write_text(lines[0] + "\n")  # last.pt written, metrics not yet
    assert cli("train", "--resume", run).exit_code == 0
    assert (run / runs.METRICS).read_text().splitlines() == lines


# -- damaged files -----------------------------------------------------------------------------


@pytest.mark.parametrize("field, value, needle", [
    ("lr", "NaN", "lr must be a number"), ("batch_size", 0, "batch_size must be at least 1"),
    ("width", 10**6, "parameters"), ("epochs", True, "epochs must be a whole number"),
    ("alpha", 7, "alpha must be at most 1"), ("optimizer", "adamax", "optimizer must be one of"),
])
def test_damaged_config_values_are_one_line(tmp_path, tiny_run, cli, field, value, needle):
    run = tmp_path / "run"
    run.mkdir()
    for name in (runs.CONFIG, runs.BEST, runs.LAST):
        (run / name).write_bytes((Path(tiny_run) / name).read_bytes())
    doc = json.loads((run / runs.CONFIG).read_text())
    doc["train"][field] = value
    if field == "width":
        doc["model"]["build"]["width"] = value
    (run / runs.CONFIG).write_text(json.dumps(doc))
    for args in (("test", run, "-d", "8", "--iters", "2", "--count", "2"),
                 ("solve", run, "-d", "8", "--iters", "2", "--fps", "0"),
                 ("train", "--resume", run)):
        one_line_error(cli(*args), needle)


def test_deep_or_broken_json_is_one_line(tmp_path, tiny_run, cli):
    run = tmp_path / "run"
    run.mkdir()
    (run / runs.CONFIG).write_text("[" * 100_000 + "]" * 100_000)
    one_line_error(cli("test", run), "damaged", "nested too deeply")
    (run / runs.CONFIG).write_bytes(b"\xff\xfe\x00garbage")
    one_line_error(cli("test", run), "damaged")


@pytest.fixture
def hostile_zoo(tmp_path, monkeypatch, tiny_run, cli):
    root = tmp_path / "zoo"
    root.mkdir()
    monkeypatch.setenv("DT_ZOO_DIR", str(root))
    assert cli("zoo", "add", tiny_run, "--name", "m", "-d", "12", "--iters", "4", "--curve", "0",
               "--count", "4").exit_code == 0
    return root


def test_hostile_zoo_cards_and_names(hostile_zoo, tmp_path, cli):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.json").write_text((hostile_zoo / "m.json").read_text())
    one_line_error(cli("zoo", "show", "../outside/x"), "no zoo model")
    card = json.loads((hostile_zoo / "m.json").read_text())
    del card["sha256"]
    (hostile_zoo / "m.json").write_text(json.dumps(card))
    one_line_error(cli("zoo", "show", "m"), "sha256 is missing or damaged")
    one_line_error(cli("solve", "m", "--iters", "2"), "sha256")
    (hostile_zoo / "index.json").write_text('{"models": {"../../etc/passwd": {}}}')
    one_line_error(cli("zoo", "list"), "zoo index", "damaged")
    (hostile_zoo / "index.json").write_text("{not json")
    one_line_error(cli("zoo", "show", "m"), "zoo index", "damaged")


def test_hostile_instance_files(tmp_path, cli, tiny_run):
    binary = tmp_path / "maze.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    one_line_error(cli("solve", tiny_run, "--input", binary), "not a text file")
    one_line_error(cli("solve", tiny_run, "--input", "typo.txt"), "no file 'typo.txt'")


def test_truncated_and_oversized_puzzle_files(tmp_path):
    import zstandard

    from dt_chess.lichess import MAX_LINE, iter_rows

    rows = b"PuzzleId,FEN,Moves,Rating\n" + b"x1,fen,e2e4 e7e5,1500\n" * 5000
    packed = zstandard.ZstdCompressor().compress(rows)
    (tmp_path / "cut.zst").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DtError, match="truncated"):
        list(iter_rows(tmp_path / "cut.zst"))
    (tmp_path / "long.csv").write_bytes(b"a" * (4 * MAX_LINE))
    with pytest.raises(DtError, match="longer than"):
        list(iter_rows(tmp_path / "long.csv"))


# -- disks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, needle", [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full"),
                                          (errno.EACCES, "no permission")])
def test_disk_errors_are_one_line_and_leave_nothing_half_written(tmp_path, cli, monkeypatch,
                                                                code, needle):
    run = tmp_path / "run"
    real = os.replace

    def failing(src, dst, *args, **kwargs):
        if Path(dst).name == runs.BEST:
            raise OSError(code, os.strerror(code))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing)
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run),
                   f"cannot write {run / runs.BEST}", needle)
    assert not list(run.glob(".*.tmp")) and not (run / runs.BEST).exists()
    assert runs.read_run_config(run)["status"] == "failed"


def test_a_full_disk_reported_by_torch_is_named(tmp_path, monkeypatch):
    import shutil

    from dtcli.contracts.paths import atomic_write

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 0))

    def torch_style(tmp):
        raise RuntimeError("PytorchStreamWriter failed writing file data/0")

    with pytest.raises(DtError, match="disk is full"):
        atomic_write(tmp_path / "last.pt", torch_style)
    assert not list(tmp_path.iterdir())


# -- values caught at once ---------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (["train", "prefix-sums", "--arch", "dt", "--lr", "nan"], "--lr must be a finite number"),
    (["train", "prefix-sums", "--arch", "dt", "--lr", "inf"], "--lr must be a finite number"),
    (["train", "prefix-sums", "--arch", "dt", "--test-iters", "-1"], "--test-iters must be at least 1"),
    (["train", "prefix-sums", "--arch", "dt", "--amp", "fp8"], "--amp must be one of"),
    (["train", "prefix-sums", "--arch", "dt", "--clip", "nan"], "--clip must be a finite number"),
    (["train", "prefix-sums", "--arch", "dt", "-b", "-1"], "--batch-size must be at least 1"),
    (["train", "prefix-sums", "--arch", "dt", "--bogus"], "No such option"),
    (["train", "--resume", "nowhere", "--lr", "0.1"], "--lr cannot change"),
])
def test_bad_values_are_refused_before_anything_runs(cli, args, needle):
    one_line_error(cli(*args), needle)


def test_bad_test_values(cli, tiny_run):
    one_line_error(cli("test", tiny_run, "-b", "0"), "--batch-size must be positive")
    one_line_error(cli("test", tiny_run, "--iters", "3,1,2"), "increasing order")


def test_divergence_hint_fits_the_settings(tmp_path, cli):
    from dtcli.config import TrainConfig
    from dtcli.engine.outcome import divergence_message

    result = cli("train", "prefix-sums", "--arch", "dt", *TINY, "--lr", "1e6", "--out",
                 tmp_path / "run")  # the quick preset clips already
    line = one_line_error(result, "diverged", "lower --lr (now 1e+06)")
    assert "--clip" not in line and runs.read_run_config(tmp_path / "run")["status"] == "failed"
    plain = TrainConfig(problem="p", arch="a", clip=None, warmup_epochs=0)
    assert "or set --clip 1" in divergence_message(plain, 1, 2, float("nan"), (0, 0), None)
