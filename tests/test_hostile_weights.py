"""What dt once accepted silently (issue 31, item 9) and a hang (item 3): weights of another
dtype or not finite, a FIFO named as weights, an edited config.json on --resume, and
--dry-run with a tracker the real run would refuse."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dtcli import runs
from dtcli.contracts.errors import DtError
from helpers import one_line_error

ROOT = Path(__file__).resolve().parents[1]
TEST = ("-d", "8", "--iters", "2", "--count", "2")


@pytest.fixture
def run(tmp_path, tiny_run):
    """A copy of the shared tiny run (finished, 2 epochs)."""
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    return copy


@pytest.mark.parametrize("change, needle", [
    (lambda t: t.double(), "is float64, the network's is float32"),
    (lambda t: t.long(), "is int64, the network's is float32"),
    (lambda t: t.bool(), "is bool, the network's is float32"),
    (lambda t: t * float("nan"), "NaN or infinite"),
    (lambda t: t + float("inf"), "NaN or infinite"),
], ids=["float64", "int64", "bool", "nan", "inf"])
def test_weights_of_another_dtype_or_not_finite_are_refused(run, cli, change, needle):
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(run / runs.BEST))
    name = sorted(tensors)[0]
    tensors[name] = change(tensors[name])
    save_file(tensors, str(run / runs.BEST))
    one_line_error(cli("test", run, *TEST), str(run / runs.BEST), name, needle)


def test_float64_weights_in_the_resume_state_are_refused(run, cli):
    state = torch.load(run / runs.LAST, weights_only=True)
    name = sorted(state["model"])[0]
    state["model"][name] = state["model"][name].double()
    torch.save(state, run / runs.LAST)
    one_line_error(cli("train", "--resume", run, "--epochs", "3"), str(run / runs.LAST), name,
                   "float64")


@pytest.mark.parametrize("field, value", [("test_difficulties", []), ("val_fraction", 0),
                                          ("width", 16), ("alpha", 0.5)])
def test_an_edited_config_is_refused_on_resume(run, cli, field, value):
    doc = json.loads((run / runs.CONFIG).read_text())
    doc["train"][field] = value
    (run / runs.CONFIG).write_text(json.dumps(doc))
    before = (run / runs.LAST).read_bytes()
    one_line_error(cli("train", "--resume", run, "--epochs", "3"), str(run / runs.CONFIG), field,
                   "was trained with")
    assert (run / runs.LAST).read_bytes() == before  # nothing trained, nothing rewritten
    assert runs.read_run_config(run)["status"] == "finished"


def test_resumable_settings_may_still_change(run, cli):
    result = cli("train", "--resume", run, "--epochs", "3", "--eval-batch-size", "7")
    assert result.exit_code == 0, result.output
    assert len(runs.read_metrics(run)) == 3


def test_a_fifo_named_as_weights_is_refused_not_waited_on(run, tmp_path):
    """In a subprocess with a timeout: reading a FIFO blocks until a writer comes."""
    (run / runs.BEST).unlink()
    os.mkfifo(run / runs.BEST)
    env = {**os.environ, "DTCLI_PLUGINS": "", "DT_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    proc = subprocess.run([sys.executable, "-m", "dtcli", "test", str(run), *TEST],
                          capture_output=True, text=True, env=env, timeout=90)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "not a regular file" in lines[0] and str(run / runs.BEST) in lines[0]


# -- trackers: --dry-run refuses what the real run refuses -------------------------------------

CHECKED_TRACKER = '''
from dtcli.api import DtError, hookimpl

def missing():
    raise DtError("--track needy needs the needy package")

@hookimpl
def register_trackers(register):
    register("needy", lambda run_dir, config: None, check=missing)
'''


def test_check_trackers_refuses_what_a_run_would_refuse(tmp_path, monkeypatch):
    from dtcli.plugins import get_registry, reset_registry
    from helpers import make_dist

    site = tmp_path / "site"
    make_dist(site, "dt_r2_needy", {"dt_r2_needy_mod": CHECKED_TRACKER}, {"needy": "dt_r2_needy_mod"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("DTCLI_PLUGINS", "needy")
    reset_registry()
    reg = get_registry()
    with pytest.raises(DtError, match="unknown tracker 'tensorbaord'.*did you mean 'tensorboard'"):
        reg.check_trackers(["tensorbaord"])
    with pytest.raises(DtError, match="needs the needy package"):
        reg.check_trackers(["needy"])
    reg.check_trackers([])


DRY = ("train", "prefix-sums", "--arch", "dt", "--width", "4", "--dry-run")


def test_dry_run_refuses_an_unknown_tracker(cli):
    one_line_error(cli(*DRY, "--track", "nope"), "unknown tracker 'nope'")
