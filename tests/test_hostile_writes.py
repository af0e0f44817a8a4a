"""Hostile paths, disks and files, round two (issue 31, part A): dt never writes onto what is
not a regular file, never overwrites a zoo model unasked, says a read-only or full disk in one
line and leaves nothing half-written, reads a config file with bounds, and keeps its smaller
messages to one true line. Every case runs the user's command and checks the target's inode
and bytes are unchanged."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from dtcli import runs
from helpers import one_line_error

TINY = ["--width", "4", "--max-iters", "3", "--epochs", "2", "--batch-size", "10",
        "--train-count", "40", "--test-count", "4", "--test-iters", "4",
        "--train-difficulty", "6", "--test-difficulty", "8", "--seed", "2"]
DRY = ["train", "prefix-sums", "--arch", "dt-recall", "--dry-run"]


def fingerprint(path: Path) -> tuple:
    """What must not change: the entry's inode, type, device numbers and (a regular file's)
    bytes or (a directory's) listing."""
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        content: object = path.read_bytes()
    elif stat.S_ISDIR(st.st_mode):
        content = sorted(os.listdir(path))
    elif stat.S_ISLNK(st.st_mode):
        content = os.readlink(path)
    else:
        content = None
    return st.st_ino, stat.S_IFMT(st.st_mode), st.st_rdev, content


def dt_process(*args, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """``dt ARGS`` in its own process (what a hang or a runaway read needs: a timeout)."""
    return subprocess.run([sys.executable, "-m", "dtcli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "DTCLI_PLUGINS": ""},
                          **kwargs)


def one_line_process(proc: subprocess.CompletedProcess, *needles: str) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def last_line_error(result, *needles: str) -> str:
    """A user error after a measurement's progress lines: exit 2, the error is stderr's one
    ``error:`` line and its last, no traceback anywhere."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    assert "Traceback" not in result.output + result.stderr
    assert [ln for ln in lines if ln.startswith("error:")] == lines[-1:], result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def char_device(path: Path, major: int, minor: int) -> Path:
    """A copy of a device node (``cp -a /dev/full``): needs root."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


# -- 1. --save-config never replaces what is not a regular file ---------------------------------


def _targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "keep.txt").write_text("keep")
    os.mkfifo(tmp_path / "fifo.toml")
    made = {
        "copied /dev/null": (char_device(tmp_path / "null.toml", 1, 3), "it is a device"),
        "copied /dev/full": (char_device(tmp_path / "full.toml", 1, 7), "it is a device"),
        "FIFO": (tmp_path / "fifo.toml", "FIFO"),
        "directory": (tmp_path / "folder", "it is a directory"),
    }
    for name, target, needle in (("link to /dev/full", "/dev/full", "link to a device"),
                                 ("link to a FIFO", tmp_path / "fifo.toml", "link to a FIFO"),
                                 ("link to a directory", tmp_path / "folder",
                                  "link to a directory"),
                                 ("dangling link", tmp_path / "nothing", "link to nothing")):
        link = tmp_path / f"{name.replace(' ', '-').replace('/', '')}.toml"
        link.symlink_to(target)
        made[name] = (link, needle)
    return made


def test_save_config_never_replaces_a_device_fifo_directory_or_link_to_one(tmp_path, cli):
    for name, (target, needle) in _targets(tmp_path).items():
        before = fingerprint(target)
        one_line_error(cli(*DRY, "--save-config", target), f"cannot write {target}", needle)
        assert fingerprint(target) == before, name
    assert not list(tmp_path.glob(".*.tmp"))
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_save_config_to_a_link_to_standard_output_is_refused(tmp_path):
    link = tmp_path / "out.toml"
    link.symlink_to("/proc/self/fd/1")
    before = fingerprint(link)
    proc = dt_process(*DRY, "--save-config", link)  # stdout is a pipe
    one_line_process(proc, "link to a FIFO")
    assert fingerprint(link) == before


@pytest.mark.parametrize("where, needle", [("", "names a directory"),
                                           ("plain.txt/x.toml", "plain.txt is a file, not a "
                                                                "directory"),
                                           ("plain.txt/a/b.toml", "not a directory"),
                                           ("..", "names a directory")])
def test_save_config_onto_nothing_or_under_a_file_is_one_line(tmp_path, cli, where, needle):
    (tmp_path / "plain.txt").write_text("mine")
    before = fingerprint(tmp_path / "plain.txt")
    one_line_error(cli(*DRY, "--save-config", where), needle)
    assert fingerprint(tmp_path / "plain.txt") == before
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.parent.glob(".*.tmp"))


def test_save_config_through_a_link_to_a_file_keeps_the_link(tmp_path, cli):
    real = tmp_path / "real.toml"
    real.write_text("old")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    assert cli(*DRY, "--save-config", link).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("# dt training settings")
    assert cli("train", "--config", link, "--dry-run").exit_code == 0


def test_the_writer_refuses_before_it_writes(tmp_path):
    from dtcli.contracts.errors import DtError
    from dtcli.contracts.paths import atomic_write

    os.mkfifo(tmp_path / "fifo")
    called = []
    with pytest.raises(DtError, match="FIFO"):
        atomic_write(tmp_path / "fifo", called.append)
    assert not called and not list(tmp_path.glob(".*.tmp"))


# -- 2. dt zoo add never overwrites a model unasked ---------------------------------------------

ZOO_ADD = ["-d", "12", "--iters", "4", "--curve", "0", "--count", "4"]


@pytest.fixture
def zoo_with_m(tmp_path, monkeypatch, tiny_run, cli):
    root = tmp_path / "zoo"
    root.mkdir()
    monkeypatch.setenv("DT_ZOO_DIR", str(root))
    assert cli("zoo", "add", tiny_run, "--name", "m", *ZOO_ADD, "--summary", "first").exit_code == 0
    return root


def test_zoo_add_refuses_an_existing_name_unless_replace(zoo_with_m, tiny_run, cli):
    files = [zoo_with_m / n for n in ("m.json", "m.safetensors", "index.json")]
    before = [fingerprint(f) for f in files]
    for name in ("m", "M"):
        one_line_error(cli("zoo", "add", tiny_run, "--name", name, *ZOO_ADD, "--summary",
                           "second"), "already holds a model named 'm'", "--replace")
    assert [fingerprint(f) for f in files] == before
    one_line_error(cli("zoo", "add", tiny_run, "--name", "M", *ZOO_ADD, "--replace"),
                   "differs only in case")
    assert [fingerprint(f) for f in files] == before
    replaced = cli("zoo", "add", tiny_run, "--name", "m", *ZOO_ADD, "--summary", "second",
                   "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(cli("zoo", "show", "m", "--json").stdout)["summary"] == "second"


def test_zoo_add_refuses_a_card_without_an_index_entry(zoo_with_m, tiny_run, cli):
    (zoo_with_m / "orphan.safetensors").write_bytes(b"weights of a model being added")
    before = fingerprint(zoo_with_m / "orphan.safetensors")
    one_line_error(cli("zoo", "add", tiny_run, "--name", "orphan", *ZOO_ADD), "already holds")
    assert fingerprint(zoo_with_m / "orphan.safetensors") == before


@pytest.mark.parametrize("name", ["index", "INDEX"])
def test_zoo_add_refuses_reserved_names(zoo_with_m, tiny_run, cli, name):
    before = fingerprint(zoo_with_m / "index.json")
    one_line_error(cli("zoo", "add", tiny_run, "--name", name, *ZOO_ADD), "reserved", quiet=True)
    assert fingerprint(zoo_with_m / "index.json") == before
    assert "m" in json.loads(cli("zoo", "list", "--json").stdout)
    assert not (zoo_with_m / f"{name}.safetensors").exists()


# -- 6. read-only and full disks ----------------------------------------------------------------


def refuse_mkdir(monkeypatch, code: int, under: Path) -> None:
    real = os.mkdir

    def mkdir(path, *args, **kwargs):
        if Path(os.path.abspath(path)).is_relative_to(under):
            raise OSError(code, os.strerror(code), str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)


@pytest.mark.parametrize("code, needle", [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full"),
                                          (errno.EACCES, "no permission")])
def test_train_out_on_a_read_only_or_full_disk_is_one_line(tmp_path, cli, monkeypatch, code,
                                                            needle):
    mount = tmp_path / "mount"
    mount.mkdir()
    refuse_mkdir(monkeypatch, code, mount)
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", mount / "run"),
                   f"cannot write {mount / 'run'}", needle, "--out")
    assert os.listdir(mount) == []


def test_runs_folder_in_a_read_only_working_directory_is_one_line(tmp_path, cli, monkeypatch):
    refuse_mkdir(monkeypatch, errno.EROFS, tmp_path / "runs")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", *TINY), "cannot write runs",
                   "read-only", "--out")
    assert not (tmp_path / "runs").exists()


def test_a_disk_full_while_the_run_starts_leaves_no_run_behind(tmp_path, cli, monkeypatch):
    real = os.write

    def write(fd, data):  # the lock file's pid is the run's first byte on disk
        if os.readlink(f"/proc/self/fd/{fd}").endswith(runs.LOCK):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    run = tmp_path / "run"
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run),
                   f"cannot write {run}", "disk is full")
    assert not run.exists()


def test_a_file_in_the_way_of_out_is_one_line(tmp_path, cli):
    (tmp_path / "taken").write_text("mine")
    before = fingerprint(tmp_path / "taken")
    one_line_error(cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out",
                       tmp_path / "taken"), "is a file, not a directory")
    assert fingerprint(tmp_path / "taken") == before


@contextlib.contextmanager
def full_disk_for(monkeypatch, name: str, device: Path):
    """The temporary file dt writes ``name`` through lands on a full disk: it is a link to
    ``device``, a copy of /dev/full, so every write of the real writer (matplotlib's, PIL's)
    fails as a full disk fails."""
    import tempfile

    device.parent.mkdir(parents=True, exist_ok=True)
    char_device(device, 1, 7)
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        fd, tmp = real(*args, **kwargs)
        if Path(tmp).name.startswith(f".{name}."):
            os.unlink(tmp)
            os.symlink(device, tmp)
        return fd, tmp

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    yield


@pytest.mark.parametrize("suffix", [".pdf", ".png", ".svg"])
def test_plot_on_a_full_disk_is_one_line_and_keeps_the_old_figure(tmp_path, cli, tiny_run,
                                                                  monkeypatch, suffix):
    plot = tmp_path / f"x{suffix}"
    plot.write_bytes(b"an earlier figure")
    before = fingerprint(plot)
    with full_disk_for(monkeypatch, plot.name, tmp_path / "dt-home" / "full"):
        result = cli("test", tiny_run, "-d", "8", "--iters", "4", "--count", "4", "--plot", plot)
    last_line_error(result, f"cannot write {plot}", "disk is full")
    assert fingerprint(plot) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "dt-home") == [plot.name]


def test_a_new_plot_on_a_full_disk_leaves_no_empty_file(tmp_path, cli, tiny_run, monkeypatch):
    plot = tmp_path / "new.pdf"
    with full_disk_for(monkeypatch, plot.name, tmp_path / "dt-home" / "full"):
        result = cli("analyze", "stability", tiny_run, "-d", "12", "--iters", "6", "--count",
                     "4", "--lipschitz-points", "2", "--lipschitz-count", "2", "--power-steps",
                     "2", "--plot", plot)
    last_line_error(result, "cannot write", "disk is full")
    assert not plot.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_library_that_hides_the_full_disk_behind_its_own_error(tmp_path):
    from dtcli.contracts.errors import DtError
    from dtcli.contracts.paths import atomic_write

    def matplotlib_style(tmp):
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError:
            raise AttributeError("'Stream' object has no attribute 'pos'")  # noqa: B904

    with pytest.raises(DtError, match="disk is full"):
        atomic_write(tmp_path / "x.pdf", matplotlib_style)
    assert not list(tmp_path.iterdir())


# -- 8. config files: bounded, regular, not too deep -------------------------------------------


@pytest.mark.parametrize("text", ["width = " + "[" * 100_000 + "]" * 100_000,
                                  "width = " + "{a = " * 5_000 + "1" + "}" * 5_000],
                         ids=["arrays", "inline-tables"])
def test_deeply_nested_toml_is_one_line(tmp_path, cli, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    one_line_error(cli("train", "--config", path, "--dry-run"), "deep.toml", "nested too deeply")


def test_an_oversized_or_unreadable_config_is_one_line(tmp_path, cli):
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    one_line_error(cli("train", "--config", big, "--dry-run"), "larger than")
    (tmp_path / "folder.toml").mkdir()
    one_line_error(cli("train", "--config", tmp_path / "folder.toml", "--dry-run"),
                   "is a directory")


@pytest.mark.parametrize("make", ["/dev/zero", "fifo", "link to /dev/zero"])
def test_config_from_a_device_or_fifo_neither_hangs_nor_fills_memory(tmp_path, make):
    import resource

    if make == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)
    elif make.startswith("link"):
        path = tmp_path / "zero.toml"
        path.symlink_to("/dev/zero")
    else:
        path = Path(make)

    def four_gib() -> None:  # a runaway read ends in MemoryError here, not in the machine's OOM
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    proc = dt_process("train", "--config", path, "--dry-run", timeout=60, preexec_fn=four_gib)
    one_line_process(proc, str(path), "not a regular file")


# -- 10. smaller ------------------------------------------------------------------------------


def test_a_torchscript_resume_state_is_one_line_without_warnings(tmp_path, cli, tiny_run):
    import torch

    run = tmp_path / "run"
    run.mkdir()
    for name in (runs.CONFIG, runs.BEST):
        (run / name).write_bytes((Path(tiny_run) / name).read_bytes())
    with warnings.catch_warnings():  # torch deprecates TorchScript; such files are still about
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), run / runs.LAST)
    before = fingerprint(run / runs.LAST)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = one_line_error(cli("train", "--resume", run), "cannot read resume state",
                              "not a checkpoint dt wrote")
    assert "weights_only" not in line
    assert not [w for w in seen if "torch.load" in str(w.message)], [str(w.message) for w in seen]
    assert fingerprint(run / runs.LAST) == before


def test_a_run_killed_before_its_config_says_how_to_start_it_again(tmp_path, cli):
    run = tmp_path / "run"
    assert cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run).exit_code == 0
    (run / runs.CONFIG).unlink()  # killed after its first resume state, before config.json
    one_line_error(cli("train", "--resume", run), "cannot be resumed", f"--out {run}",
                   "original")
    again = cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run)
    assert again.exit_code == 0, again.output
    assert runs.read_run_config(run)["status"] == "finished"


def test_a_run_interrupted_before_validation_says_so(tmp_path, cli, monkeypatch):
    from dtcli.cli import train_cmd

    @contextlib.contextmanager
    def stop_at_once():
        yield lambda: True  # Ctrl-C before the first step ends

    monkeypatch.setattr(train_cmd, "stop_on_signals", stop_at_once)
    run = tmp_path / "run"
    result = cli("train", "prefix-sums", "--arch", "dt", *TINY, "--out", run)
    assert result.exit_code == 130, result.output
    said = " ".join(result.stdout.split())  # the console wraps long lines
    assert "None" not in said and "interrupted in" in said
    assert "no epoch validated yet" in said and f"dt train --resume {run}" in said
