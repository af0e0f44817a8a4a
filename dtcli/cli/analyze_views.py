"""Tables and terminal plots of ``dt analyze`` (the commands are in analyze_cmd.py)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from dtcli.cli.plot import line_plot

MAX_ROWS = 16


def _f(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _width(console) -> int:
    return min(console.width, 100)


def spread(iters: list[int], must: set[int], most: int = MAX_ROWS) -> list[int]:
    """A readable subset of ``iters``: evenly spaced, plus the ones that ``must`` appear."""
    step = max(1, math.ceil(len(iters) / max(1, most - len(must) - 1)))
    chosen = set(iters) if len(iters) <= most else set(iters[::step])
    chosen |= {iters[-1]} | {m for m in must if m in iters}
    return sorted(chosen)


# -- reuse -------------------------------------------------------------------------------------


def reuse_view(res, name: str, console) -> Group:
    pct = lambda v: _f(None if v is None else 100 * v)  # noqa: E731
    table = Table(title=f"filter reuse: {name}, {res.total} images, {res.iters} iterations "
                        f"(share of live filters whose least active iteration keeps ≥ "
                        f"{100 * res.threshold:.0f}% of their peak)")
    table.add_column("layer", no_wrap=True)
    table.add_column("filters", justify="right")
    table.add_column("live", justify="right")
    table.add_column("trained\nreused %", justify="right")
    table.add_column("trained\nmedian\nleast", justify="right")
    table.add_column("untrained\nreused %", justify="right")
    table.add_column("untrained\nmedian\nleast", justify="right")
    for t, c in zip(res.trained, res.control):
        dt, dc = t.to_dict(res.threshold), c.to_dict(res.threshold)
        table.add_row(t.name, str(dt["filters"]), str(dt["live"]), pct(dt["share"]),
                      _f(dt["median_least"], ".2f"), pct(dc["share"]), _f(dc["median_least"], ".2f"))
    table.add_row("all", str(sum(int(t.counts.shape[1]) for t in res.trained)),
                  str(sum(int(t.live.sum()) for t in res.trained)), pct(res.share("trained")),
                  "", pct(res.share("control")), "", style="bold")
    series = {"trained": res.curve("trained"), "untrained": res.curve("control")}
    plot = line_plot(series, title="filters whose least active iteration keeps ≥ x of their peak",
                     xlabel="x (fraction of the peak)", ylabel="% filters", ylim=(0, 100),
                     width=_width(console), height=14)
    line = Text(f"trained: {100 * res.share('trained'):.1f}% of filters reused "
                f"(≥ {100 * res.threshold:.0f}% of peak at every iteration); untrained twin: "
                f"{100 * res.share('control'):.1f}%")
    return Group(table, plot, line)


# -- probes ------------------------------------------------------------------------------------


def probes_view(results: list, console, plot: bool = True) -> Group:
    first = results[0]
    table = Table(title=f"linear probes (ridge on features pooled to ≤{first.extra['pool']}x"
                        f"{first.extra['pool']}): accuracy %, {first.train_count} train / "
                        f"{first.test_count} test images")
    table.add_column("iteration / block", justify="right")
    for res in results:
        kind = "recurrent" if res.recurrent else "feed-forward"
        table.add_column(f"{res.model} ({kind})\ntrain", justify="right")
        table.add_column("test", justify="right")
    rows = max(len(r.rows) for r in results)
    for k in range(rows):
        depths = {r.rows[k].effective_depth for r in results if k < len(r.rows)}
        label = (f"{k}" if k else "0 start") + (f" (depth {depths.pop()})" if len(depths) == 1 else "")
        cells = []
        for res in results:
            row = res.rows[k] if k < len(res.rows) else None
            cells += [_f(row and row.train_acc), _f(row and row.test_acc)]
        table.add_row(label, *cells)
    if not plot:
        return Group(table)
    series = {}
    for res in results:
        xs = [r.effective_depth for r in res.rows]
        series[f"{res.model} test"] = (xs, [r.test_acc for r in res.rows])
        series[f"{res.model} train"] = (xs, [r.train_acc for r in res.rows])
    plot = line_plot(series, title="probe accuracy vs effective depth", xlabel="effective depth",
                     ylabel="%", width=_width(console), height=14)
    return Group(table, plot)


# -- cka ---------------------------------------------------------------------------------------


def _cka_style(v: float) -> str:
    shade = max(0, min(255, int(round(255 * v))))
    return f"black on rgb({shade},{int(shade * 0.8)},{255 - shade // 2})" if v > 0.5 else \
        f"white on rgb({shade},{int(shade * 0.8)},{255 - shade // 2})"


def cka_view(res, console) -> Group:
    cols = spread(res.iters_b, set(), max(2, (console.width - 12) // 8))
    rows = spread(res.iters_a, set(), MAX_ROWS)
    table = Table(title=f"linear CKA on {res.count} instances: rows {res.model_a}, columns "
                        f"{res.model_b} (iteration, effective depth)")
    table.add_column(f"{res.model_a}", justify="right", no_wrap=True)
    for c in cols:
        table.add_column(f"{c} ({res.depths_b[c - 1]})", justify="right", no_wrap=True)
    for r in rows:
        row = res.matrix[r - 1]
        table.add_row(f"{r} ({res.depths_a[r - 1]})",
                      *(Text(f"{row[c - 1]:.2f}", style=_cka_style(row[c - 1])) for c in cols))
    pick = spread(res.iters_a, set(), 5)
    series = {f"A it. {r}": (res.iters_b, res.matrix[r - 1]) for r in pick}
    low = min(min(row) for row in res.matrix)
    plot = line_plot(series, title=f"CKA of iterations of A ({res.model_a}) with each "
                                   f"iteration of B ({res.model_b})",
                     xlabel="B iteration", ylabel="CKA", ylim=(max(0.0, low - 0.05), 1.0),
                     width=_width(console), height=14)
    parts: list[Any] = [table, plot]
    same = [] if res.model_a == res.model_b else res.same_depth()
    if same:
        top = sum(s["highest_in_row"] for s in same)
        detail = "; ".join(f"depth {s['effective_depth']}: {s['cka']:.3f}"
                           + ("" if s["highest_in_row"] else
                              f" (row max {s['row_max']:.3f} at it. {s['row_argmax_iteration_b']})")
                           for s in same)
        parts.append(Text(f"same effective depth is the highest in its row for {top} of "
                          f"{len(same)} rows: {detail}"))
    return Group(*parts)


# -- visualize ---------------------------------------------------------------------------------


def visualize_view(results: list, files: list[str], console) -> Group:
    tables = []
    for res in results:
        kind = "recurrent" if res.recurrent else "feed-forward"
        table = Table(title=f"{res.model} ({kind}): the filter's mean response to its best image "
                            f"({res.settings.steps} steps, batch {res.settings.batch})")
        table.add_column("iteration" if res.recurrent else "block", justify="right")
        for f in res.filters:
            table.add_column(f"filter {f}", justify="right", no_wrap=True)
        for a, t in enumerate(res.iters):
            table.add_row(str(t), *(f"{v:.3g}" for v in res.activation[a]))
        tables.append(table)
    series = {res.model: (res.iters, [sum(r) / len(r) for r in res.activation]) for res in results}
    plot = line_plot(series, title="response reached (mean over filters)", xlabel="iteration",
                     ylabel="response", width=_width(console), height=12)
    notes = [Text(f"{res.model}: {'batch-norm prior on' if res.bn_prior else 'no batch norm: no prior'}")
             for res in results]
    return Group(*tables, plot, *notes, Text("images: " + ", ".join(files)))


# -- stability ---------------------------------------------------------------------------------


def stability_view(res, name: str, problem, console) -> Group:
    s = res.summary()
    lips = dict(zip(res.lipschitz_iters, zip(res.lipschitz_mean, res.lipschitz_max)))
    must = set(res.lipschitz_iters) | {res.max_iters}
    for extra in (s["settled_at"], s["truncation_point"], s["best_iteration"]):
        if extra:
            must.add(extra)
    table = Table(title=f"stability: {name} on {problem.describe_difficulty(res.difficulty)}, "
                        f"{res.total} instances (trained with max_iters {res.max_iters})")
    table.add_column("iteration", justify="right", no_wrap=True)
    for col in ("‖Δθ‖/‖θ‖\nmedian", "‖Δθ‖/‖θ‖\nmax", "step\nratio", "Lipschitz\nmean/max",
                "positions\nmoving %", "accuracy\n%", "same as\nfinal %"):
        table.add_column(col, justify="right", no_wrap=True)
    table.caption = ("* max_iters (trained); step ratio: ‖Δθ_t‖ / ‖Δθ_t−1‖, median; a position "
                     f"moves while max over channels |Δθ| > {res.position_tolerance:g} max |θ|")
    for it in spread(res.iters, must, 24):
        j = it - 1
        lm, lx = lips.get(it, (None, None))
        mark = "*" if it == res.max_iters else ""
        table.add_row(f"{it}{mark}", _f(res.change_median[j], ".1e"), _f(res.change_max[j], ".1e"),
                      _f(res.ratio[j], ".3f"), "" if lm is None else f"{_f(lm, '.2f')}/{_f(lx, '.2f')}",
                      _f(res.moving[j] if res.moving else None, ".1f"),
                      f"{res.accuracy[j]:.1f}", f"{res.agreement[j]:.1f}")
    def log_series(values: list) -> tuple[list, list]:
        known = [(i, math.log10(max(c, 1e-12))) for i, c in zip(res.iters, values) if c is not None]
        return [i for i, _ in known], [v for _, v in known]

    plot1 = line_plot({"mean": log_series(res.change), "median": log_series(res.change_median),
                       "tolerance": (res.iters, [math.log10(res.tolerance)] * len(res.iters))},
                      title="log10 relative change of the thought", xlabel="iteration",
                      ylabel="log10", width=_width(console), height=12)
    plot2 = line_plot({"accuracy": (res.iters, res.accuracy),
                       "= final answer": (res.iters, res.agreement)},
                      title="truncation: accuracy, and answers equal to the final one",
                      xlabel="iteration", ylabel="%", ylim=(0, 100), width=_width(console),
                      height=12)
    return Group(table, plot1, plot2, Text(stability_summary(res)))


def stability_summary(res) -> str:
    s = res.summary()
    last = res.iters[-1]
    if s["diverged_at"] is not None:
        settled = (f"diverges: the thought overflows from iteration {s['diverged_at']} "
                   f"({s['diverged_share']:.0f}% of instances by {last})")
    elif s["settled_at"] is not None:
        settled = (f"settles: every thought is still (change < {res.tolerance:g}) from iteration "
                   f"{s['settled_at']} on (median {s['median_settle']:.0f})")
    elif s["settled_share"] > 0:
        settled = (f"partly settles: {s['settled_share']:.0f}% of thoughts are still by iteration "
                   f"{last} (median {s['median_settle']:.0f}); the rest keep moving")
    else:
        settled = (f"does not settle within {last} iterations (change {_f(s['change_at_last'], '.2e')} "
                   f"at the end, tolerance {res.tolerance:g})")
    if s["step_ratio_at_last"] is not None:
        settled += (f"; each step is {s['step_ratio_at_last']:.3f}x the one before "
                    f"({'growing' if s['step_ratio_at_last'] > 1.001 else 'at the end'}, median)")
    if s["norm_at_last"] is not None:
        settled += (f"; ‖θ‖ (median) {s['norm_at_last']:.3g} at the end"
                    + (f", {s['norm_at_max_iters']:.3g} at max_iters" if s["norm_at_max_iters"] else ""))
    lip = "" if s["lipschitz_at_last"] is None else (
        f"; Lipschitz at iteration {res.lipschitz_iters[-1]}: {s['lipschitz_at_last']:.3f}"
        + (" (a contraction there)" if s["lipschitz_at_last"] < 1 else " (not a contraction)"))
    acc_max = s["accuracy_at_max_iters"]
    trunc = (f"; truncation: {_f(acc_max)}% at max_iters ({res.max_iters}) vs {s['accuracy_at_last']:.1f}% "
             f"at iteration {last}" + (" (the settled point)" if s["settled_at"] else "")
             + (f", {_f(s['agreement_at_max_iters'])}% of answers at max_iters equal the final ones"
                if acc_max is not None else ""))
    point = s["truncation_point"]
    if point is not None and point < last:
        trunc += f"; every answer is final from iteration {point}"
    else:
        trunc += "; answers still change at the last iteration"
    return settled + lip + trunc + settling_summary(s, res.position_tolerance, last)


def settling_summary(s: dict, tolerance: float, last: int) -> str:
    """Where the thought still moves and whether solved instances stay solved."""
    if s.get("settled_positions_at_last") is None:
        return ""
    text = (f"; positions settled (change < {tolerance:g} of max |θ|) at iteration {last}: "
            f"{s['settled_positions_at_last']:.1f}%")
    if s.get("solve_solved") is not None:
        text += (f"; {s['solve_solved']} instances solved at some iteration, "
                 f"{s['solve_stayed_solved']} stayed solved to the end, {s['solve_turned_wrong']} "
                 f"turned wrong again ({s['solve_flickers']} flickers")
        if s.get("solve_latest_wrong_after_solve"):
            text += f", the latest wrong at iteration {s['solve_latest_wrong_after_solve']}"
        text += ")"
    return text


# -- perturb -----------------------------------------------------------------------------------


def perturb_view(res, name: str, problem, console) -> Group:
    s = res.summary()
    k = res.at
    marks = {k - 1, k, k + 1, k + 2, k + 5, k + 10, k + 20, k + 50}
    if s["recovered_at"]:
        marks.add(s["recovered_at"])
    table = Table(title=f"perturbation: {name} on {problem.describe_difficulty(res.difficulty)}, "
                        f"{res.total} instances, {res.kind} ×{res.scale:g} after iteration {k}")
    table.add_column("iteration", justify="right", no_wrap=True)
    for col in ("clean %", "perturbed %", "same answer %", "‖θ_p − θ‖/‖θ‖"):
        table.add_column(col, justify="right")
    for it in spread(res.iters, {m for m in marks if m >= 1}, 20):
        j = it - 1
        mark = " ◀ perturbed" if it == k else (" ◀ recovered" if it == s["recovered_at"] else "")
        table.add_row(f"{it}{mark}", f"{res.clean[j]:.1f}", f"{res.perturbed[j]:.1f}",
                      f"{res.agreement[j]:.1f}", _f(res.distance[j], ".2e"))
    plot = line_plot({"clean": (res.iters, res.clean), "perturbed": (res.iters, res.perturbed),
                      "same answer": (res.iters, res.agreement)},
                     title="accuracy with and without the perturbation", xlabel="iteration",
                     ylabel="%", ylim=(0, 100), width=_width(console), height=14)
    return Group(table, plot, Text(perturb_summary(res)))


def perturb_summary(res) -> str:
    s = res.summary()
    text = (f"at iteration {res.at}: {s['clean_at_k']:.1f}% clean, {s['perturbed_at_k']:.1f}% "
            f"perturbed (lowest after: {s['lowest_perturbed']:.1f}%); ")
    if s["recovered_at"] is None:
        text += (f"not recovered within {res.iters[-1]} iterations: {s['perturbed_final']:.1f}% vs "
                 f"{s['clean_final']:.1f}% clean at the end")
    else:
        text += (f"recovered to within {res.tolerance:g} percentage points of the clean run at iteration "
                 f"{s['recovered_at']} ({s['iterations_to_recover']} iterations after the "
                 f"perturbation): {s['accuracy_after_recovery']:.1f}%, and {s['perturbed_final']:.1f}% "
                 f"vs {s['clean_final']:.1f}% clean at iteration {res.iters[-1]}")
    text += f"; {s['instances_thrown_off']:.0f}% of instances were thrown off (an answer unlike the clean one)"
    if s["instances_thrown_off"]:
        healed = 100.0 - (100.0 - s["instances_recovered"]) * 100.0 / s["instances_thrown_off"]
        text += f", {healed:.0f}% of those got the clean answer back for good"
        if s["median_recovery_of_thrown_off"] is not None:
            text += (f" (median {s['median_recovery_of_thrown_off']}, slowest "
                     f"{s['slowest_recovery']} iterations after the perturbation)")
    return text


# -- path independence ---------------------------------------------------------------------------


def path_independence_view(rows: list[dict]) -> Group:
    """One row a model: AA score (mean, min) beside its peak accuracy over the iterations, the
    accuracy after them from its own start and from random starts, and how often the answers
    agree."""
    same = lambda key: len({str(r[key]) for r in rows}) == 1  # noqa: E731
    where = f" on {rows[0]['difficulty']}" if same("difficulty") else ""
    after = f", {rows[0]['iters']} iterations" if same("iters") else ""
    table = Table(title=f"path independence{where}{after}")
    table.add_column("model", overflow="fold", ratio=1)
    if not where:
        table.add_column("difficulty")
    if not after:
        table.add_column("iters", justify="right")
    for col, width in (("AA\nmean", 6), ("AA\nmin", 6), ("peak %\n(iter)", 10),
                       ("own / random\nstart %", 13), ("same\nanswer %", 6)):
        table.add_column(col, justify="right", no_wrap=True, min_width=width)
    for r in rows:
        s = r["summary"]
        cells = [r["model"]] + ([] if where else [str(r["difficulty"])]) + \
            ([] if after else [str(r["iters"])])
        aa = _f(s["aa_mean"], ".4f") + (f" ({s['overflowed']} overflowed)" if s["overflowed"]
                                        else "")
        table.add_row(*cells, aa, _f(s["aa_min"], ".4f"),
                      f"{_f(s['peak_accuracy'], '.1f')} ({s['peak_iteration']})",
                      f"{s['accuracy_own']:.1f} / {s['accuracy_random_mean']:.1f}",
                      f"{s['agreement']:.1f}")
    table.caption = (f"AA: cosine similarity of the final thoughts from {rows[0]['starts']} "
                     f"Gaussian starts and from the model's own (1 = path independent); "
                     f"{rows[0]['total']} instances")
    return Group(table)
