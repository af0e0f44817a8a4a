"""Figures of the analyses (matplotlib, imported only when a figure is asked for).

Sized for one column of a paper (3.4 inches wide, 8-point text); written as PNG (200 dpi),
SVG or PDF by the file's suffix. Uses matplotlib's object API (no pyplot, no global state).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dtcli.contracts.errors import DtError

FORMATS = (".png", ".svg", ".pdf")
WIDTH = 3.4  # inches: one column
STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2}


def check_path(path: str | Path) -> Path:
    """A figure path with a suffix matplotlib writes; a clear error otherwise."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise DtError(f"--plot {str(path)!r}: a figure is written as .png, .svg or .pdf; "
                      f"name the file with one of those suffixes")
    return path


@contextmanager
def figure(height: float, width: float = WIDTH) -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        yield Figure(figsize=(width, height), layout="constrained")


def save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` whole or not at all (a full disk leaves no cut-off figure; a
    device or a directory is refused: :func:`~dtcli.contracts.paths.atomic_write`)."""
    from dtcli.contracts.paths import atomic_write

    path = check_path(path)
    fmt = path.suffix.lower().lstrip(".")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=200, format=fmt))
    return path


def _iteration_colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(k / max(1, n - 1) * 0.9) for k in range(n)]


def reuse_figure(result, path: str | Path) -> Path:
    """Per model (trained, untrained control): histograms of the filters' relative activity
    (count / peak count) at every iteration, the threshold dashed."""
    import torch

    with figure(3.6) as fig:
        axes = fig.subplots(2, 1, sharex=True)
        colors = _iteration_colors(result.iters)
        bins = [k / 20 for k in range(21)]
        for ax, which, layers in ((axes[0], "trained", result.trained),
                                  (axes[1], "untrained control", result.control)):
            rel = torch.cat([layer.relative() for layer in layers], dim=1)
            for t in range(result.iters):
                ax.hist(rel[t].tolist(), bins=bins, histtype="step", color=colors[t],
                        label=f"iteration {t + 1}")
            ax.axvline(result.threshold, color="0.4", linestyle="--", linewidth=0.8)
            share = result.share("trained" if which == "trained" else "control")
            ax.set_title(f"{which}: {100 * share:.0f}% of filters keep ≥ "
                         f"{100 * result.threshold:.0f}% of peak")
            ax.set_ylabel("filters")
        axes[1].set_xlabel("activity relative to the filter's most active iteration\n"
                           "(its least active iteration must clear the dashed line)")
        handles, labels = axes[0].get_legend_handles_labels()
        keep = _legend_subset(len(labels))
        axes[0].legend([handles[k] for k in keep], [labels[k] for k in keep], loc="upper left",
                       frameon=False)
        return save(fig, path)


def _legend_subset(n: int, most: int = 6) -> list[int]:
    if n <= most:
        return list(range(n))
    step = (n - 1) / (most - 1)
    return sorted({round(k * step) for k in range(most)})


def probes_figure(results: list, path: str | Path) -> Path:
    """Probe accuracy per effective depth: test solid, train dashed, one colour per model."""
    with figure(2.5) as fig:
        ax = fig.subplots()
        for k, res in enumerate(results):
            color = f"C{k}"
            depths = [r.effective_depth for r in res.rows]
            kind = "recurrent" if res.recurrent else "feed-forward"
            ax.plot(depths, [r.test_acc for r in res.rows], "o-", color=color, markersize=3,
                    label=f"{res.model} ({kind}) test")
            ax.plot(depths, [r.train_acc for r in res.rows], "s--", color=color, markersize=3,
                    label=f"{res.model} ({kind}) train")
        ax.set_xlabel("effective depth (after iteration / block)")
        ax.set_ylabel("linear probe accuracy (%)")
        ax.set_title("linear probes on each iteration's features")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
        return save(fig, path)


def cka_figure(result, path: str | Path) -> Path:
    """The CKA matrix as a heat map, rows model A, columns model B, values written in."""
    import numpy as np

    m = np.asarray(result.matrix)
    rows, cols = m.shape
    height = min(4.5, 1.2 + 0.28 * rows)
    with figure(height) as fig:
        ax = fig.subplots()
        image = ax.imshow(m, vmin=0, vmax=1, cmap="magma", origin="lower", aspect="auto")
        fig.colorbar(image, ax=ax, label="linear CKA")
        xt = list(range(cols)) if cols <= 12 else _ticks(cols)
        ax.set_xticks(xt, [f"{result.iters_b[t]}\n({result.depths_b[t]})" if cols <= 12
                           else str(result.iters_b[t]) for t in xt])
        yt = list(range(rows)) if rows <= 12 else _ticks(rows)
        ax.set_yticks(yt, [f"{result.iters_a[t]} ({result.depths_a[t]})" if rows <= 12
                           else str(result.iters_a[t]) for t in yt])
        if rows * cols <= 100:
            for r in range(rows):
                for c in range(cols):
                    ax.text(c, r, f"{m[r, c]:.2f}", ha="center", va="center", fontsize=6,
                            color="black" if m[r, c] > 0.6 else "white")
        from matplotlib.patches import Rectangle

        for same in result.same_depth():  # outline the entries of equal effective depth
            r, c = result.iters_a.index(same["iteration_a"]), result.iters_b.index(same["iteration_b"])
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="cyan",
                                   linewidth=1.0))
        ax.set_xlabel(f"{result.model_b}: iteration / block (effective depth)")
        ax.set_ylabel(f"{result.model_a}: iteration (depth)")
        ax.set_title("linear CKA (outlined: equal effective depth)")
        return save(fig, path)


def _ticks(n: int, most: int = 8) -> list[int]:
    return _legend_subset(n, most)


def _cell_image(img):
    """A (C, H, W) tensor as an array matplotlib shows: min-max scaled, channels last."""
    a = img.float()
    a = (a - a.min()) / (a.max() - a.min()).clamp_min(1e-8)
    return a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).numpy()


def visualize_figure(results: list, path: str | Path) -> Path:
    """One grid per model, iterations down, filters across, side by side."""
    cols = sum(len(r.filters) for r in results)
    rows = max(len(r.iters) for r in results)
    cell = min(0.6, WIDTH / max(1, cols + len(results)))
    with figure(0.5 + rows * cell * 1.15, max(WIDTH, (cols + len(results)) * cell * 1.1)) as fig:
        subs = fig.subfigures(1, len(results), wspace=0.02) if len(results) > 1 else [fig]
        for sub, res in zip(subs, results):
            kind = "recurrent" if res.recurrent else "feed-forward"
            axes = sub.subplots(len(res.iters), len(res.filters), squeeze=False)
            for a, t in enumerate(res.iters):
                for b, f in enumerate(res.filters):
                    ax = axes[a][b]
                    ax.imshow(_cell_image(res.images[a, b]), cmap="gray", interpolation="nearest")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if a == 0:
                        ax.set_title(str(f), fontsize=6)
                    if b == 0:
                        ax.set_ylabel(str(t), fontsize=6)
            sub.suptitle(f"{res.model} ({kind})\nfilter →", fontsize=7)
            sub.supylabel("iteration" if res.recurrent else "block", fontsize=7)
        return save(fig, path)


def _nan(values: list) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def _positive(values: list) -> list[float]:
    """For a log axis: None (an overflow) as a gap, zero as a tiny floor."""
    return [float("nan") if v is None else max(v, 1e-12) for v in values]


def stability_figure(result, path: str | Path, name: str = "") -> Path:
    """Relative change (log), the Lipschitz estimate, accuracy and agreement with the settled
    answer, against the iteration."""
    with figure(4.2) as fig:
        ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
        ax1.semilogy(result.iters, _positive(result.change), label="mean")
        ax1.semilogy(result.iters, _positive(result.change_median), label="median")
        ax1.semilogy(result.iters, _positive(result.change_max), alpha=0.6,
                     label="max over instances")
        if result.diverged_at is not None:
            ax1.axvline(result.diverged_at, color="red", linestyle=":", linewidth=0.8,
                        label=f"overflow at {result.diverged_at}")
        ax1.axhline(result.tolerance, color="0.4", linestyle="--", linewidth=0.8,
                    label=f"tolerance {result.tolerance:g}")
        ax1.set_ylabel("‖Δθ‖ / ‖θ‖")
        ax1.legend(frameon=False)
        if result.lipschitz_iters:
            ax2.plot(result.lipschitz_iters, _nan(result.lipschitz_mean), "o-", markersize=3,
                     label="mean")
            ax2.plot(result.lipschitz_iters, _nan(result.lipschitz_max), "s--", markersize=3,
                     label="max")
        ax2.axhline(1.0, color="0.4", linestyle="--", linewidth=0.8, label="1 (contraction below)")
        ax2.set_ylabel("local Lipschitz")
        ax2.legend(frameon=False, loc="upper left")
        if result.moving:
            moving = ax2.twinx()
            moving.plot(result.iters, result.moving, color="tab:green", linewidth=0.9,
                        label="positions moving %")
            moving.set_ylim(-2, 102)
            moving.set_ylabel("moving %", color="tab:green")
            moving.legend(frameon=False, loc="upper right")
        ax3.plot(result.iters, result.accuracy, label="accuracy")
        ax3.plot(result.iters, result.agreement, linestyle="--", label="answer = final answer")
        if result.max_iters <= result.iters[-1]:
            ax3.axvline(result.max_iters, color="0.5", linestyle=":", linewidth=0.8,
                        label=f"max_iters {result.max_iters}")
        ax3.set_ylabel("%")
        ax3.set_ylim(-2, 102)
        ax3.set_xlabel("iteration")
        ax3.legend(frameon=False)
        for ax in (ax1, ax2, ax3):
            ax.grid(alpha=0.3)
        fig.suptitle(f"stability{': ' + name if name else ''}", fontsize=8)
        return save(fig, path)


def perturb_figure(result, path: str | Path, name: str = "") -> Path:
    """Accuracy with and without the perturbation, and the distance between the thoughts."""
    with figure(3.2) as fig:
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        ax1.plot(result.iters, result.clean, label="clean")
        ax1.plot(result.iters, result.perturbed, linestyle="--",
                 label=f"{result.kind} ×{result.scale:g} at iteration {result.at}")
        ax1.plot(result.iters, result.agreement, linestyle=":", label="same answer as clean")
        for ax in (ax1, ax2):
            ax.axvline(result.at, color="0.5", linestyle=":", linewidth=0.8)
            ax.grid(alpha=0.3)
        ax1.set_ylabel("%")
        ax1.set_ylim(-2, 102)
        ax1.legend(frameon=False)
        k = result.at - 1  # before the perturbation the two thoughts are one
        ax2.semilogy(result.iters[k:], _positive(result.distance[k:]))
        ax2.set_ylabel("‖θ_pert − θ‖ / ‖θ‖")
        ax2.set_xlabel("iteration")
        fig.suptitle(f"perturbation{': ' + name if name else ''}", fontsize=8)
        return save(fig, path)


def path_independence_figure(rows: list[dict], path: str | Path) -> Path:
    """AA score against accuracy, one point a model (Anil et al.'s figure): accuracy from the
    model's own start (filled) and from random starts (open)."""
    with figure(3.2) as fig:
        ax = fig.subplots()
        for r in rows:
            s = r["summary"]
            if s["aa_mean"] is None:  # every thought overflowed: no direction to compare
                continue
            line = ax.plot(s["aa_mean"], s["accuracy_own"], "o", label=r["model"])[0]
            ax.plot(s["aa_mean"], s["accuracy_random_mean"], "o", mfc="none",
                    color=line.get_color())
        ax.set_xlabel("AA score (cosine of final thoughts)")
        ax.set_ylabel("accuracy % (filled: own start, open: random starts)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=6)
        fig.suptitle("path independence and accuracy", fontsize=8)
        return save(fig, path)

