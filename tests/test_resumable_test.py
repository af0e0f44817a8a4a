"""dt test --state DIR: a test killed mid-run (SIGKILL, right after a state was written) and
resumed with --resume ends with exactly the per-iteration counts of an uninterrupted run, for
the streaming modes and for halting; a state made by other arguments is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from helpers import one_line_error

KILLER = textwrap.dedent("""
    import os, signal, sys
    from dtcli.engine import resumable
    saves = [0]
    real = resumable.ResumeState.save

    def save(self, tensors, position):
        real(self, tensors, position)
        saves[0] += 1
        if saves[0] == {after}:
            os.kill(os.getpid(), signal.SIGKILL)

    resumable.ResumeState.save = save
    from dtcli.cli import app
    app({args!r}, prog_name="dt")
""")


def without_timings(doc: dict) -> dict:
    """A ``dt test --json`` result without its wall and CPU seconds (which differ run to run)."""
    for part in (doc.get("extra", {}), doc.get("halt", {})):
        part.pop("seconds", None)
        part.pop("cpu_seconds", None)
    return doc


def saved_spent(path) -> dict:
    """The wall and CPU seconds a test state says its evaluation had spent."""
    from safetensors import safe_open

    from dtcli.engine.resumable import KEY

    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()[KEY])["position"]["spent"]


def killed_test(args: list[str], after: int) -> subprocess.CompletedProcess:
    """``dt test ARGS`` in a subprocess that kills itself right after its ``after``-th state."""
    script = KILLER.format(after=after, args=args)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DT_THREADS": "1"})


@pytest.mark.parametrize("modes, after", [(["fixed", "max-conf"], 25), (["halt"], 12),
                                          (["fixed", "halt"], 70)])
def test_killed_test_resumes_to_the_uninterrupted_counts(cli, tmp_path, modes, after):
    # the zoo's prefix-sums net on 24-bit strings: counts rise from 0 to all 24 over the
    # iterations, so a resume that lost or doubled a tally cannot match
    args = ["test", "prefix-sums-dt-recall", "-d", "24", "-n", "24", "--iters", "1:20",
            "--seed", "3", "-b", "8", *[a for m in modes for a in ("--mode", m)]]
    full = cli(*args, "--json")
    assert full.exit_code == 0, full.output
    counts = json.loads(full.stdout).get("fixed", {}).get("correct")
    assert counts is None or (counts[0] < 12 and counts[-1] == 24)
    state = tmp_path / "state"
    proc = killed_test([*args, "--state", str(state), "--state-every", "0"], after)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert list(state.glob("*.safetensors"))  # killed mid-pass, its state on disk
    spent = max(saved_spent(p)["cpu"] for p in state.glob("*.safetensors"))
    assert spent > 0
    resumed = cli(*args, "--state", str(state), "--resume", "--json")
    assert resumed.exit_code == 0, resumed.output
    a, b = json.loads(full.stdout), json.loads(resumed.stdout)
    # the killed process's time counts in the resumed result's (cost per solved instance)
    last = b["halt"] if "halt" in b else b["extra"]
    assert last["cpu_seconds"] >= spent and last["seconds"] > 0
    assert without_timings(a) == without_timings(b)
    assert not list(state.glob("*.safetensors"))  # a finished pass keeps its result only


def test_a_state_of_other_arguments_is_refused(cli, tiny_run, tmp_path):
    args = ["test", str(tiny_run), "-d", "16", "-n", "8", "--iters", "1:6",
            "--state", str(tmp_path / "s")]
    assert cli(*args).exit_code == 0
    one_line_error(cli(*args), "already holds a test", "--resume")
    one_line_error(cli(*[a if a != "8" else "9" for a in args], "--resume"), "count")
    one_line_error(cli("test", str(tiny_run), "--resume"), "--state")


def test_killed_solve_resumes_where_it_stood(cli, tmp_path):
    """dt solve --state FILE killed after a state write, then --resume: the frames after the
    saved iteration and the first-correct iteration are those of the uninterrupted solve."""
    args = ["solve", "mazes-dt-recall", "-d", "15", "--iters", "60", "--seed", "2",
            "--no-halt", "--json"]
    full = cli(*args)
    assert full.exit_code == 0, full.output
    frames = json.loads(full.stdout)["frames"]
    state = tmp_path / "solve.state"
    proc = killed_test([*args, "--state", str(state), "--state-every", "0"], 25)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    resumed = cli(*args, "--state", str(state), "--resume")
    assert resumed.exit_code == 0, resumed.output
    doc = json.loads(resumed.stdout)
    # the 25th state was written at the top of iteration 25: after iteration 24
    assert [f["iteration"] for f in doc["frames"]] == list(range(25, 61))
    assert doc["frames"] == frames[24:]
    assert doc["first_correct"] == json.loads(full.stdout)["first_correct"] is not None
    assert not state.exists()


def test_killed_maze_test_resumes_exactly(cli, tmp_path):
    """The same on small mazes (2D thoughts, laid out channels-last: the state is read back in
    that layout, or a convolution rounds differently and the counts drift)."""
    args = ["test", "mazes-dt-recall", "-d", "15", "-n", "12", "--iters", "1:40", "-b", "4",
            "--mode", "fixed", "--mode", "halt", "--json"]
    full = cli(*args)
    assert full.exit_code == 0, full.output
    state = tmp_path / "state"
    proc = killed_test([*args, "--state", str(state), "--state-every", "0"], 50)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    resumed = cli(*args, "--state", str(state), "--resume")
    assert resumed.exit_code == 0, resumed.output
    a, b = json.loads(full.stdout), json.loads(resumed.stdout)
    assert without_timings(a) == without_timings(b) and 0 < a["fixed"]["correct"][-1]
