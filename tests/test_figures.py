"""Paper figures (dtcli.cli.curve_figures), `dt test --plot`, `dt zoo show --plot`, `dt list -v` at 80
columns and shell completion."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from dtcli.cli.curve_figures import PlotSeries, check_figure_path, depth_plot, schoop_plot
from dtcli.contracts.errors import DtError

PNG = b"\x89PNG\r\n\x1a\n"


def curves() -> list[PlotSeries]:
    return [PlotSeries("dt-recall", [1, 2, 3, 4], [0.0, 40.0, 90.0, 95.0], max_iters=2,
                  train="size 9", test="size 21"),
            PlotSeries("dt", [1, 2, 3, 4], [0.0, 20.0, 30.0, 10.0], max_iters=3,
                  train="size 13", test="size 21", err=[1.0, 2.0, 3.0, 1.0])]


def test_schoop_plot_writes_each_format(tmp_path):
    assert schoop_plot(curves(), tmp_path / "a.png").read_bytes().startswith(PNG)
    root = ET.parse(schoop_plot(curves(), tmp_path / "a.svg", title="two models")).getroot()
    assert root.tag.endswith("svg")
    assert (tmp_path / "a.pdf").exists() is False
    assert schoop_plot(curves(), tmp_path / "sub" / "a.pdf").read_bytes().startswith(b"%PDF")


def test_svg_is_reproducible(tmp_path):
    a = schoop_plot(curves(), tmp_path / "a.svg").read_bytes()
    b = schoop_plot(curves(), tmp_path / "b.svg").read_bytes()
    assert a == b  # no date or random ids: the same data gives the same file


def test_depth_plot_with_error_bars(tmp_path):
    series = [PlotSeries("recurrent", [8, 12, 16], [50.0, 60.0, 70.0], err=[2.0, 1.5, 1.0]),
              PlotSeries("feed-forward", [8, 12, 16], [52.0, 61.0, 69.0], err=[1.0, 1.0, 2.0])]
    assert depth_plot(series, tmp_path / "d.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("name", ["curve.jpg", "curve", "dir/"])
def test_bad_figure_path_is_one_clear_error(tmp_path, name):
    (tmp_path / "dir").mkdir()
    with pytest.raises(DtError, match=r"\.png, \.svg or \.pdf|directory"):
        check_figure_path(tmp_path / name)


def test_unwritable_figure_path(tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(DtError, match="cannot write"):
        schoop_plot(curves(), tmp_path / "file.txt" / "curve.png")


def test_nothing_to_plot(tmp_path):
    with pytest.raises(DtError, match="nothing to plot"):
        schoop_plot([], tmp_path / "a.png")


def test_dt_import_loads_no_plotting_or_torch():
    code = ("import sys, dtcli.cli, dtcli.cli.curve_figures; "
            "print(sorted(m for m in ('matplotlib', 'PIL', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dt_test_plot(cli, tiny_run, tmp_path):
    png, svg = tmp_path / "curve.png", tmp_path / "out" / "curve.svg"
    r = cli("test", tiny_run, "-d", "12", "--iters", "1:6", "-n", "10", "-m", "fixed",
            "-m", "max-conf", "--plot", png)
    assert r.exit_code == 0, r.output
    assert png.read_bytes().startswith(PNG)
    r = cli("test", tiny_run, "-d", "12", "--iters", "1:6", "-n", "10", "--json", "--plot", svg)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["iters"] == [1, 2, 3, 4, 5, 6]  # stdout stays pure JSON
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_dt_test_plot_halt_only(cli, tiny_run, tmp_path):
    r = cli("test", tiny_run, "-d", "12", "--iters", "1:6", "-n", "10", "-m", "halt",
            "--plot", tmp_path / "halt.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "halt.png").read_bytes().startswith(PNG)


def test_dt_test_bad_plot_suffix_fails_before_measuring(cli, tiny_run, tmp_path):
    r = cli("test", tiny_run, "-d", "12", "--iters", "1:6", "-n", "10", "--plot",
            tmp_path / "curve.jpg")
    assert r.exit_code == 2
    assert len(r.output.strip().splitlines()) == 1 and ".png, .svg or .pdf" in r.output
    assert "instances" not in r.output


def test_zoo_show_plot(cli, tmp_path):
    r = cli("zoo", "show", "prefix-sums-dt-recall", "--plot", tmp_path / "card.svg")
    assert r.exit_code == 0, r.output
    assert ET.parse(tmp_path / "card.svg").getroot().tag.endswith("svg")
    r = cli("zoo", "show", "prefix-sums-dt-recall", "--json", "--plot", tmp_path / "card.png")
    assert r.exit_code == 0 and json.loads(r.stdout)["name"] == "prefix-sums-dt-recall"
    assert (tmp_path / "card.png").read_bytes().startswith(PNG)
    r = cli("zoo", "show", "prefix-sums-dt-recall", "--plot", tmp_path / "card.gif")
    assert r.exit_code == 2 and ".png, .svg or .pdf" in r.output


def test_list_verbose_reads_at_80_columns(cli, monkeypatch):
    from dtcli.cli.common import console

    monkeypatch.setattr(console, "_width", 80)
    r = cli("list", "-v")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    # an option and the start of its help share a line; no column squeezed to a word a line
    assert any(re.search(r"-o layout=compact\s+compact: one pixel", line) for line in lines)
    assert any(line.startswith("mazes ") for line in lines)
    assert any(re.search(r"--arch-option blocks=2\s+residual blocks", line) for line in lines)
    r = cli("list")
    assert r.exit_code == 0 and max(len(line.rstrip()) for line in r.output.splitlines()) <= 80


def test_shell_completion(monkeypatch, capsys):
    from dtcli.cli import app

    r = subprocess.run([sys.executable, "-m", "dtcli", "--help"], capture_output=True, text=True)
    assert "--install-completion" in r.stdout
    env = {"_DT_COMPLETE": "complete_bash", "COMP_WORDS": "dt solve prefix-s", "COMP_CWORD": "2"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit):
        app(prog_name="dt", args=[])
    assert "prefix-sums-dt-recall" in capsys.readouterr().out


@pytest.mark.parametrize("words, cword, expected, absent", [
    ("dt train pre", "2", "prefix-sums", "mazes"),
    ("dt train mazes --arch dt-r", "4", "dt-recall", "ff-recall"),
    ("dt study seeds ma", "3", "mazes", "chess"),
])
def test_shell_completion_of_problems_and_architectures(monkeypatch, capsys, words, cword,
                                                        expected, absent):
    from dtcli.cli import app

    for key, value in {"_DT_COMPLETE": "complete_bash", "COMP_WORDS": words,
                       "COMP_CWORD": cword}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit):
        app(prog_name="dt", args=[])
    out = capsys.readouterr().out.split()
    assert expected in out and absent not in out


def test_train_help_shows_bounds_and_defaults(cli):
    out = " ".join(cli("train", "--help").stdout.split())  # however the help is wrapped
    assert "[>= 1] Default: 128." in out  # --width
    assert "[0..1] Default: 1.0." in out  # --alpha
    assert "[0..0.95] Default: 0.2." in out  # --val-fraction
