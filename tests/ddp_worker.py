"""``dt`` as one torchrun worker, watched: every file a rank moves into place (all of dt's
writes end in ``os.replace``) is logged to ``$DT_TEST_WATCH/writes-<rank>.json``, and with
``DT_TEST_KILL=NAME:N`` rank 0 SIGKILLs the whole job (both workers and torchrun) right after
its N-th write of NAME: a kill at a known point, with no sleeps; with
``DT_TEST_KILL_LAUNCHER=NAME:N`` it SIGKILLs torchrun alone (the ranks must then stop by
themselves).

A rank that goes through the interpreter's teardown leaves ``$DT_TEST_WATCH/teardown-<rank>``
(written by a module-level object's ``__del__``): a rank of a multi-process job must not (see
``dtcli.cli.common.exit_now``), a lone process does.

Run by tests/test_distributed.py as ``torchrun ... ddp_worker.py train ...``.
"""

import atexit
import json
import os
import signal
import sys
from pathlib import Path

watch = Path(os.environ["DT_TEST_WATCH"])
rank = os.environ.get("RANK", "0")
(watch / f"pid-{rank}").write_text(str(os.getpid()))
writes: list[str] = []
kill_name, _, kill_count = os.environ.get("DT_TEST_KILL", "").partition(":")
launcher_name, _, launcher_count = os.environ.get("DT_TEST_KILL_LAUNCHER", "").partition(":")
real_replace = os.replace


def watched_replace(src, dst, *args, **kwargs):
    real_replace(src, dst, *args, **kwargs)
    writes.append(str(dst))
    if rank == "0" and kill_name and [Path(w).name for w in writes].count(kill_name) == int(kill_count):
        for pid_file in watch.glob("pid-*"):
            if pid_file.name != "pid-0":
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
        os.kill(os.getppid(), signal.SIGKILL)  # torchrun
        os.kill(os.getpid(), signal.SIGKILL)
    if rank == "0" and launcher_name and \
            [Path(w).name for w in writes].count(launcher_name) == int(launcher_count):
        os.kill(os.getppid(), signal.SIGKILL)  # torchrun alone


os.replace = watched_replace


class TeardownMarker:
    """Leaves a file when the interpreter's teardown destroys it (names bound early: module
    globals may be gone by then)."""

    def __del__(self, path=str(watch / f"teardown-{rank}"), flags=os.O_CREAT | os.O_WRONLY,
                open_=os.open, close=os.close):
        close(open_(path, flags, 0o644))


teardown_marker = TeardownMarker()
atexit.register(lambda: (watch / f"writes-{rank}.json").write_text(json.dumps(writes)))

from dtcli.cli import main  # noqa: E402

sys.argv = ["dt", *sys.argv[1:]]
main()
