"""Paper figures: accuracy vs test iterations (the "schoop" plot) and accuracy vs depth.

matplotlib is imported inside the functions, only when a figure is asked for, and always with
the Agg backend and a fixed style, so a figure looks the same on every machine. Figures are
sized for one column of a paper (3.4 inches wide, text 7-8 pt) and written by the file's
suffix: ``.png`` (300 dpi), ``.svg`` or ``.pdf``.

Typical use (``dt test --plot``, ``dt compare --plot``)::

    curves = [PlotSeries("DT-recall", iters, acc, max_iters=30, train="size 9", test="size 21")]
    schoop_plot(curves, "schoop.pdf")
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from dtcli.contracts.errors import DtError
from dtcli.contracts.paths import atomic_write

FORMATS = (".png", ".svg", ".pdf")
WIDTH = 3.4  # inches: one column of a two-column paper
AXES_HEIGHT = 2.3  # inches, without the legend below
DPI = 300
TITLE_CHARS = 52  # about one 3.4-inch line of 8-point text
LEGEND_COLUMN_CHARS = 24  # longer legend labels get a column of their own
STYLE = {
    "font.family": "DejaVu Sans", "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
    "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.3,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.linewidth": 0.4, "grid.alpha": 0.5, "legend.frameon": False,
    "pdf.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "dt",
}
# Okabe-Ito: distinguishable with colour-blindness; dashes tell lines apart in greyscale
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("-", "--", "-.", ":")
# the max_iters lines: grey, told apart by their dashes
VLINES = (("0.4", "-"), ("0.4", (0, (1, 1.2))), ("0.6", (0, (5, 1.5))), ("0.6", (0, (3, 1, 1, 1))))


@dataclass
class PlotSeries:
    """One line of a figure: ``y`` (accuracy, %) at each ``x`` (iterations or depth).

    ``err`` (optional, same length) is drawn as a band (schoop plot) or error bars (depth
    plot), e.g. the standard error over seeds. ``max_iters`` marks the iterations the model
    was trained with; ``train`` and ``test`` describe the difficulties (``"size 9"``).
    """

    label: str
    x: Sequence[float]
    y: Sequence[float]
    max_iters: int | None = None
    train: str | None = None
    test: str | None = None
    err: Sequence[float] | None = None


def check_figure_path(path: str | Path, option: str = "--plot") -> Path:
    """Fail early (before any long measurement) on a suffix matplotlib cannot write or a
    folder that cannot be written to; returns the path."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in FORMATS:
        raise DtError(f"{option} {str(path)!r}: a figure is written as .png, .svg or .pdf; "
                      "end the file name with one of them")
    if path.is_dir():
        raise DtError(f"{option} {str(path)!r} is a directory; give a file name such as "
                      f"{path / 'curve.png'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise DtError(f"{option} {str(path)!r}: cannot write in {folder}; choose another place")
    return path


def schoop_plot(curves: Sequence[PlotSeries], path: str | Path, *, title: str | None = None,
                log_x: bool = False, option: str = "--plot") -> Path:
    """Accuracy vs test iterations of several models or modes on one chart; returns the path.

    Each distinct ``max_iters`` is a dotted vertical line. Difficulties shared by every curve
    go in the title (``title`` is put before them), the others in each curve's legend entry.
    """
    return _plot(curves, path, title=title, xlabel="test iterations", log_x=log_x,
                 bars=False, option=option)


def epoch_plot(curves: Sequence[PlotSeries], path: str | Path, *, title: str | None = None,
               option: str = "--plot") -> Path:
    """Training curves: accuracy per epoch (train, validation, ...) of one run; returns the
    path."""
    return _plot(curves, path, title=title, xlabel="epoch", log_x=False, bars=False,
                 option=option)


def depth_plot(curves: Sequence[PlotSeries], path: str | Path, *, title: str | None = None,
               xlabel: str = "effective depth (layers)", option: str = "--plot") -> Path:
    """Accuracy vs effective depth (one curve per architecture), ``err`` as error bars, for
    depth studies; returns the path."""
    return _plot(curves, path, title=title, xlabel=xlabel, log_x=False, bars=True,
                 option=option)


def _plot(curves: Sequence[PlotSeries], path: str | Path, *, title: str | None, xlabel: str,
          log_x: bool, bars: bool, option: str) -> Path:
    path = check_figure_path(path, option)
    if not curves or not any(len(c.x) for c in curves):
        raise DtError(f"{option}: nothing to plot (no accuracy measured)")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    trains = {c.train for c in curves}
    tests = {c.test for c in curves}
    shared = [f"train {next(iter(trains))}" if len(trains) == 1 and None not in trains else "",
              f"test {next(iter(tests))}" if len(tests) == 1 and None not in tests else ""]
    difficulty = " \u2192 ".join(p for p in shared if p)
    if len(difficulty) > TITLE_CHARS:  # a line each rather than a break mid-phrase
        difficulty = "\n".join(p for p in shared if p)
    lines = [title or "", *difficulty.split("\n")]
    heading = "\n".join(textwrap.fill(line, TITLE_CHARS) for line in lines if line)

    labels = [_legend_label(c, trains, tests) for c in curves]
    marks = sorted({c.max_iters for c in curves if c.max_iters}) if not bars else []
    labels += [f"trained with {m} iterations" for m in marks]
    ncols = 2 if len(labels) > 3 and max(map(len, labels)) <= LEGEND_COLUMN_CHARS else 1
    rows = -(-len(labels) // ncols)

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH, AXES_HEIGHT + 0.16 * (rows + 1)), layout="constrained")
        ax = fig.add_subplot()
        handles: list[Any] = []
        for k, (c, label) in enumerate(zip(curves, labels)):
            style = {"color": COLORS[k % len(COLORS)], "linestyle": DASHES[k % len(DASHES)]}
            if bars:
                h = ax.errorbar(c.x, c.y, yerr=c.err, marker="o", markersize=3, capsize=2,
                                label=label, **style)
            else:
                (h,) = ax.plot(c.x, c.y, label=label, **style)
                if c.err is not None:
                    lo = [y - e for y, e in zip(c.y, c.err)]
                    hi = [y + e for y, e in zip(c.y, c.err)]
                    ax.fill_between(c.x, lo, hi, color=style["color"], alpha=0.2, linewidth=0)
            handles.append(h)
        for k, m in enumerate(marks):
            grey, dash = VLINES[k % len(VLINES)]
            handles.append(ax.axvline(m, color=grey, linestyle=dash, linewidth=0.9))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("accuracy (%)")
        if bars:  # depth studies compare close accuracies: let the axis zoom in
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.set_ylim(-2, 102)
            if log_x:
                ax.set_xscale("log")
            else:
                ax.set_xlim(left=0)
        if heading:
            ax.set_title(heading)
        fig.legend(handles=handles, labels=labels, loc="outside lower center", ncols=ncols,
                   handlelength=2.2, columnspacing=1.0)
        return _save(fig, path, option)


def _legend_label(c: PlotSeries, trains: set, tests: set) -> str:
    extra = [f"train {c.train}" if len(trains) > 1 and c.train else "",
             f"test {c.test}" if len(tests) > 1 and c.test else ""]
    extra = [e for e in extra if e]
    return ", ".join([c.label, *extra])


def _save(fig: Any, path: Path, option: str) -> Path:
    # no creation date in SVG/PDF: the same data gives the same file
    metadata = {"Date": None} if path.suffix.lower() in (".svg", ".pdf") else None
    fmt = path.suffix.lower().lstrip(".")
    try:  # whole or not at all: a full disk leaves no cut-off figure
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, metadata=metadata, format=fmt))
    except DtError as exc:
        raise DtError(f"{option}: {exc}") from None
    except OSError as exc:
        raise DtError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
    return path
