"""Several processes: torchrun with 2 gloo workers on loopback against one process.

Each test launches real torchrun jobs of ``dt`` (through tests/ddp_worker.py, which logs the
files each rank writes and can SIGKILL the job at a known write).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dtcli import runs

WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = ["--width", "8", "--max-iters", "4", "--epochs", "2", "--batch-size", "20",
        "--train-count", "100", "--test-count", "10", "--test-iters", "6", "--seed", "5",
        "--alpha", "1", "--lr", "3e-3", "--warmup", "0"]
BITS = ["prefix-sums", "--arch", "dt-recall", "--train-difficulty", "8", "--test-difficulty", "10"]

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="this torch has no torch.distributed")


def dt(args: list[str], nproc: int, watch: Path, kill: str | None = None) -> subprocess.CompletedProcess:
    """``dt ARGS`` as ``nproc`` torchrun workers (gloo, one thread each)."""
    watch.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DT_TEST_WATCH": str(watch), "DT_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("DT_TEST_KILL", None)
    if kill:
        env["DT_TEST_KILL"] = kill
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", str(WORKER), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                          start_new_session=True)


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / runs.BEST)


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def metrics(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in runs.read_metrics(run)]


def assert_same_metrics(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for key in ra:
            if isinstance(ra[key], float):
                assert ra[key] == pytest.approx(rb[key], rel=1e-5, abs=1e-6), key
            else:
                assert ra[key] == rb[key], key


@pytest.mark.parametrize("problem", ["prefix-sums", "mazes"])
def test_two_processes_follow_one(tmp_path, problem):
    """The same seed and global batch: the same weights (<= 1e-5) and metrics as one process,
    and rank 1 writes nothing. Mazes weigh shards by open pixels; batch 20 of 80 with a
    feed-forward net (mazes) also leaves blocks unused in most steps."""
    if problem == "mazes":
        args = ["train", "mazes", "--arch", "ff-recall", *TINY, "--batch-size", "14",
                "--train-difficulty", "5", "--test-difficulty", "7"]
    else:
        args = ["train", *BITS, *TINY]
    one = dt([*args, "--out", str(tmp_path / "one")], 1, tmp_path / "w1")
    assert one.returncode == 0, one.stderr[-2000:]
    two = dt([*args, "--out", str(tmp_path / "two")], 2, tmp_path / "w2")
    assert two.returncode == 0, two.stderr[-2000:]
    assert max_difference(weights(tmp_path / "one"), weights(tmp_path / "two")) <= 1e-5
    assert_same_metrics(metrics(tmp_path / "one"), metrics(tmp_path / "two"))
    assert json.loads((tmp_path / "w2" / "writes-1.json").read_text()) == []
    rank0 = {Path(p).name for p in json.loads((tmp_path / "w2" / "writes-0.json").read_text())}
    assert {runs.CONFIG, runs.BEST, runs.LAST, runs.METRICS, runs.EXTRAPOLATION} <= rank0
    assert runs.read_run_config(tmp_path / "two")["info"]["hardware"]["processes"] == 2
    assert "2 processes" in two.stdout and two.stdout.count("finished in") == 1
    # a lone process tears the interpreter down; the ranks of a job skip it (see exit_now)
    assert (tmp_path / "w1" / "teardown-0").exists()
    assert not list((tmp_path / "w2").glob("teardown-*"))


def test_killed_two_process_run_resumes_with_two_or_one(tmp_path):
    """SIGKILL in the middle of epoch 2, right after a step checkpoint; resumed with 2 processes
    and, from a copy, with 1: both end as the uninterrupted run."""
    args = ["train", *BITS, *TINY, "--checkpoint-every", "0"]
    full = dt([*args, "--out", str(tmp_path / "full")], 2, tmp_path / "wf")
    assert full.returncode == 0, full.stderr[-2000:]
    # 90 training strings (the preset holds out 10%), 5 steps an epoch. last.pt is written at
    # the start (1), after epoch 1's steps 1-4 (2-5), at its end (6), after epoch 2's steps 1, 2
    killed = dt([*args, "--out", str(tmp_path / "run")], 2, tmp_path / "wk", kill="last.pt:8")
    assert killed.returncode != 0
    state = torch.load(tmp_path / "run" / runs.LAST, weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 2)
    # the killed rank says nothing; its peer, stopped by torchrun's SIGTERM, may say
    # "interrupted" (under load it often gets there before torchrun's grace ends)
    assert runs.read_run_config(tmp_path / "run")["status"] in ("running", "interrupted")
    shutil.copytree(tmp_path / "run", tmp_path / "run1")
    for run, nproc in ((tmp_path / "run", 2), (tmp_path / "run1", 1)):
        resumed = dt(["train", "--resume", str(run)], nproc, tmp_path / f"wr{nproc}")
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "resuming after epoch 1 and 2 steps of epoch 2 (2 epochs in all)" in resumed.stdout
        assert max_difference(weights(tmp_path / "full"), weights(run)) <= 1e-5
        assert_same_metrics(metrics(tmp_path / "full"), metrics(run))
        assert runs.read_run_config(run)["status"] == "finished"


def test_exit_now_runs_atexit_flushes_and_skips_the_teardown(tmp_path):
    """The exit of a torchrun rank: atexit handlers run, buffered output reaches the pipes,
    the exit code is kept, and the interpreter's teardown (where torch's destructors can abort
    the process after DDP) never runs."""
    script = tmp_path / "ends.py"
    script.write_text(
        "import atexit, os, sys\n"
        "from dtcli.cli.common import exit_now\n"
        "class Marker:\n"
        "    def __del__(self, write=os.write):\n"
        "        write(2, b'teardown ran')\n"
        "marker = Marker()\n"
        "atexit.register(lambda: sys.stderr.write('atexit ran;'))\n"
        "sys.stdout.write('buffered')\n"
        "exit_now(3) if sys.argv[1] == 'now' else sys.exit(3)\n")
    now = subprocess.run([sys.executable, str(script), "now"], capture_output=True, text=True)
    assert (now.returncode, now.stdout, now.stderr) == (3, "buffered", "atexit ran;")
    usual = subprocess.run([sys.executable, str(script), "usual"], capture_output=True, text=True)
    assert (usual.returncode, usual.stdout) == (3, "buffered")
    assert usual.stderr == "atexit ran;teardown ran"  # the marker can see a teardown


def test_two_process_test_prints_the_same_accuracies(tmp_path, tiny_run):
    args = ["test", str(tiny_run), "-d", "12", "--iters", "1:8", "--count", "21",
            "--mode", "fixed", "--mode", "max-conf", "--mode", "halt", "-k", "2", "--json"]
    one = dt(args, 1, tmp_path / "w1")
    two = dt(args, 2, tmp_path / "w2")
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert (a.pop("processes"), b.pop("processes")) == (1, 2)
    for doc in (a, b):  # wall and CPU times differ, of course
        for part in (doc["halt"], doc["extra"]):
            part.pop("seconds"), part.pop("cpu_seconds")
    assert a == b and a["total"] == 21
    assert not list((tmp_path / "w2").glob("teardown-*"))


def test_killing_the_launcher_stops_the_ranks_and_the_run_resumes(tmp_path):
    """kill -9 of torchrun alone (its ranks run in sessions of their own): within 10 s no rank
    is left, the run keeps a resume state, and --resume ends as the uninterrupted run."""
    import signal
    import time

    # 40 epochs: left alone, the ranks would go on training for many seconds
    args = ["train", *BITS, *TINY, "--epochs", "40", "--checkpoint-every", "0"]
    full = dt([*args, "--out", str(tmp_path / "full")], 2, tmp_path / "wf")
    assert full.returncode == 0, full.stderr[-2000:]
    watch = tmp_path / "wk"
    env_kill = {"DT_TEST_KILL_LAUNCHER": "last.pt:4"}
    os.environ.update(env_kill)
    try:
        killed = dt([*args, "--out", str(tmp_path / "run")], 2, watch)
    finally:
        os.environ.pop("DT_TEST_KILL_LAUNCHER")
    assert killed.returncode == -signal.SIGKILL
    pids = [int(p.read_text()) for p in watch.glob("pid-*")]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "ranks outlived their launcher"
    # they stopped (as on Ctrl-C), not finished the run unsupervised
    assert runs.read_run_config(tmp_path / "run")["status"] == "interrupted"
    assert len(runs.read_metrics(tmp_path / "run")) < 40
    resumed = dt(["train", "--resume", str(tmp_path / "run")], 2, tmp_path / "wr")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert max_difference(weights(tmp_path / "full"), weights(tmp_path / "run")) <= 1e-5
    assert_same_metrics(metrics(tmp_path / "full"), metrics(tmp_path / "run"))


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, already dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
