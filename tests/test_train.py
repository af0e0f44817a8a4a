"""Training runs: files left, exact resume after cancellation and after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from dtcli import runs
from dtcli.contracts.errors import DtError
from dtcli.engine.events import Listener
from dtcli.engine.train import train
from helpers import tiny_config


def strip_times(history):
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in history]


def test_run_directory_contents(tmp_path):
    result = train(tiny_config(), tmp_path / "run")
    run = tmp_path / "run"
    assert result.status == "finished" and result.epochs_done == 3
    doc = json.loads((run / runs.CONFIG).read_text())
    assert doc["status"] == "finished"
    assert doc["model"]["parameters"] == sum(t.numel() for t in load_file(run / runs.BEST).values())
    assert len(runs.read_metrics(run)) == 3
    state = torch.load(run / runs.LAST, weights_only=True)
    assert state["epoch"] == 3
    extra = runs.read_extrapolation(run)
    assert set(extra["results"]) == {"10"} and len(extra["results"]["10"]["iters"]) == 6
    assert not list(run.glob(".*.tmp"))


class CancelAt(Listener):
    def __init__(self, epoch, step):
        self.at = (epoch, step)
        self.hit = False

    def on_batch(self, epoch, step, steps, loss):
        self.hit = self.hit or (epoch, step) == self.at


def test_resume_after_cancel_matches_uninterrupted(tmp_path):
    full = train(tiny_config(), tmp_path / "full")
    stopper = CancelAt(2, 2)
    part = train(tiny_config(), tmp_path / "part", listener=stopper, cancel=lambda: stopper.hit)
    assert part.status == "cancelled"
    assert runs.read_run_config(tmp_path / "part")["status"] == "cancelled"
    assert len(runs.read_metrics(tmp_path / "part")) == 1
    resumed = train(tiny_config(), tmp_path / "part", resume=True)
    assert resumed.status == "finished"
    assert strip_times(resumed.history) == strip_times(full.history)
    a, b = load_file(tmp_path / "full" / runs.BEST), load_file(tmp_path / "part" / runs.BEST)
    assert all(torch.equal(a[k], b[k]) for k in a)


SIGNALLER = textwrap.dedent("""
    import os, signal, sys
    from dtcli.cli.common import stop_on_signals
    from dtcli.engine.events import Listener
    from dtcli.engine.train import train
    sys.path.insert(0, {tests!r})
    from helpers import tiny_config

    class Signal(Listener):
        def on_batch(self, epoch, step, steps, loss):
            if (epoch, step) == (2, 2):
                os.kill(os.getpid(), signal.{signal})

    with stop_on_signals() as interrupted:
        result = train(tiny_config(), {run!r}, listener=Signal(), interrupt=interrupted)
    sys.exit(130 if result.status == "interrupted" else 0)
""")


def signalled_run(run, signal_name: str) -> subprocess.CompletedProcess:
    """Train tiny_config() in a subprocess that sends itself a signal in the middle of epoch 2."""
    script = SIGNALLER.format(tests=os.path.dirname(__file__), run=str(run), signal=signal_name)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DT_THREADS": "1"})


def test_resume_after_sigkill_matches_uninterrupted(tmp_path):
    run = tmp_path / "killed"
    proc = signalled_run(run, "SIGKILL")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(runs.read_metrics(run)) == 1
    resumed = train(tiny_config(), run, resume=True)
    full = train(tiny_config(), tmp_path / "full")
    assert strip_times(resumed.history) == strip_times(full.history)


def test_sigterm_stops_after_the_step_and_resumes_exactly(tmp_path):
    run = tmp_path / "terminated"
    proc = signalled_run(run, "SIGTERM")
    assert proc.returncode == 130, proc.stderr
    assert runs.read_run_config(run)["status"] == "interrupted"
    state = torch.load(run / runs.LAST, weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 3)  # signalled in step 2: stops after step 3
    resumed = train(tiny_config(), run, resume=True)
    full = train(tiny_config(), tmp_path / "full")
    assert resumed.status == "finished"
    assert strip_times(resumed.history) == strip_times(full.history)


def test_corrupt_or_missing_state(tmp_path):
    from dtcli.engine.model import load_model

    run = tmp_path / "run"
    train(tiny_config(epochs=1), run)
    (run / runs.LAST).write_bytes(b"not a checkpoint")
    with pytest.raises(DtError, match="cannot read resume state"):
        train(tiny_config(epochs=2), run, resume=True)
    data = bytearray((run / runs.BEST).read_bytes())
    (run / runs.BEST).write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DtError, match="damaged"):
        load_model(run)
    (run / runs.BEST).unlink()
    with pytest.raises(DtError, match="no weights"):
        load_model(run)
    with pytest.raises(DtError, match="not a dt run directory"):
        load_model(tmp_path)


def test_resume_refuses_changed_training_data(tmp_path):
    run = tmp_path / "run"
    train(tiny_config(epochs=1), run)
    doc = json.loads((run / runs.CONFIG).read_text())
    assert len(doc["info"]["data_fingerprint"]) == 16
    doc["info"]["data_fingerprint"] = "0" * 16
    (run / runs.CONFIG).write_text(json.dumps(doc))
    with pytest.raises(DtError, match="training data .* changed"):
        train(tiny_config(epochs=2), run, resume=True)


def test_stops_early_once_validation_has_converged(tmp_path):
    from dtcli.engine.train import converged

    assert converged([{"val_acc": 99.95}, {"val_acc": 100.0}], 99.9, 2)
    assert not converged([{"val_acc": 100.0}, {"val_acc": 98.0}], 99.9, 2)
    assert not converged([{"val_acc": 100.0}], 99.9, 2)
    assert not converged([{"val_acc": 100.0}] * 3, None, 2)
    # a threshold of 0 stops after `stop_patience` epochs: the run is short but complete
    result = train(tiny_config(epochs=5, stop_at=0.0, stop_patience=2), tmp_path / "run")
    assert result.status == "finished" and result.epochs_done == 2
    assert runs.read_extrapolation(tmp_path / "run")["results"]
