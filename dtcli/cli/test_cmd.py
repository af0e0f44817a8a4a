"""``dt test``: extrapolation, accuracy at every iteration on harder data."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from dtcli.cli.common import OPTION_HELP, console, err_console, print_json
from dtcli.cli.plot import line_plot
from dtcli.cli.test_states import TestStates
from dtcli.cli.zoo_cmd import complete_model
from dtcli.contracts.errors import DtError

MAX_ROWS = 16


def table_rows(iters: list[int], max_iters: int, best: int) -> list[int]:
    """A readable subset of iterations: evenly spaced, plus max_iters and the best."""
    if len(iters) <= MAX_ROWS:
        return iters
    step = max(1, len(iters) // (MAX_ROWS - 2))
    chosen = set(iters[::step]) | {iters[-1], best}
    if max_iters in iters:
        chosen.add(max_iters)
    return sorted(chosen)


def test(
    model: str = typer.Argument(..., help="A run directory or a zoo name (`dt zoo list`).",
                                autocompletion=complete_model),
    difficulty: Optional[list[str]] = typer.Option(None, "--difficulty", "-d",
                                                   help="Difficulty to test on (repeatable: each is tested and reported in turn; default: the problem's test difficulty)."),
    iters: Optional[str] = typer.Option(None, "--iters", "-i", help="Iterations: A:B, A:B:STEP, N (=1:N) or a list 30,60,100 (default 1 to 10 x the model's max_iters; a feed-forward net: its depth)."),
    mode: list[str] = typer.Option(["fixed"], "--mode", "-m",
                                   help="fixed, max-conf and/or halt (repeatable)."),
    patience: int = typer.Option(10, "--patience", "-k",
                                 help="halt mode: stop an instance once its answer is unchanged for K iterations."),
    tol: Optional[float] = typer.Option(None, "--tol",
                                        help="halt mode for contractive nets (dt-l): stop an instance once the relative change of its thought is below this, instead of -k."),
    check: bool = typer.Option(False, "--halt-on-check",
                               help="halt mode: also stop an instance as soon as its answer checks out from the input alone, no label used (mazes: one path of open cells from start to end), so an answer that flickers once found costs nothing more."),
    count: int = typer.Option(500, "--count", "-n", help="Test instances."),
    seed: int = typer.Option(0, help="Seed of the test data."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b",
                                             help="Instances per batch (default: chosen from the instance size)."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps."),
    threads: Optional[int] = typer.Option(None, help="Torch threads."),
    json_out: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    plot: Optional[Path] = typer.Option(None, "--plot", metavar="FILE",
                                        help="Also draw every mode's accuracy curve to FILE "
                                             "(.png, .svg or .pdf; one paper column wide)."),
    state: Optional[Path] = typer.Option(None, "--state", metavar="DIR",
                                         help="Keep a resumable state in DIR (the thoughts, the tallies, where it stands), written every --state-every minutes and on Ctrl-C; continue with --resume. For tests of big instances that take hours."),
    state_every: float = typer.Option(5.0, "--state-every", help="Minutes between states written to --state."),
    resume: bool = typer.Option(False, "--resume", help="Continue the test whose state --state DIR holds (the same arguments), ending exactly as an uninterrupted run."),
) -> None:
    """Extrapolate: accuracy at every iteration on (harder) fresh data, with a curve.

    Memory stays flat however many iterations you ask for: each iteration is scored as it
    is computed. max-conf picks, per instance, its most confident iteration so far; halt stops
    thinking about an instance once its answer has settled and reports the compute saved.
    A long test keeps its state with --state DIR and continues with --resume. A problem's
    rules that need no training (chess: a random legal move, a one-ply heuristic) are scored
    on the same instances and shown beside the model, per group too.
    """
    from dtcli.cli.common import parse_option_pairs
    from dtcli.config import think_iters
    from dtcli.engine import distributed
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.extrapolate import MODES, parse_iters
    from dtcli.engine.model import load_model
    from dtcli.engine.resumable import weights_identity

    for m in mode:
        if m not in (*MODES, "halt"):
            raise DtError(f"unknown --mode {m!r}; choose from {', '.join(MODES)}, halt")
    if count <= 0:
        raise DtError(f"--count must be positive, got {count}")
    if batch_size is not None and batch_size <= 0:
        raise DtError(f"--batch-size must be positive, got {batch_size}")
    wanted = parse_iters(iters) if iters is not None else None
    if plot is not None:
        from dtcli.cli.curve_figures import check_figure_path

        check_figure_path(plot)  # before minutes of measuring, not after
    if resume and state is None:
        raise DtError("--resume continues the test whose state --state DIR holds: give --state")
    dev = distributed.process_device(resolve_device(device))
    ctx = distributed.context(dev)  # under torchrun: each rank tests its share of the instances
    if state is not None and ctx.active:
        raise DtError("--state keeps one process's state: run the resumable test in one process")
    configure_threads(threads, processes=ctx.local_world)
    loaded = load_model(model, device=dev)
    problem = loaded.problem
    if option:
        from dtcli.plugins import get_registry

        problem = get_registry().reopen(problem, parse_option_pairs(option))
    if check:  # refused before any pass runs
        from dtcli.engine.halting import require_check

        if "halt" not in mode:
            raise DtError("--halt-on-check is a halting rule: add --mode halt")
        require_check(problem)
    ds = [problem.parse_difficulty(t) for t in (difficulty or [problem.default_test_difficulty])]
    max_depth = loaded.net.max_depth
    if wanted is None:
        wanted = list(range(1, think_iters(loaded.max_iters, max_depth) + 1))
    if max_depth is not None and wanted[-1] > max_depth:
        loaded.net.check_iters(wanted[-1])
    docs = []
    keeper = None if state is None else TestStates(
        state, {"model": weights_identity(loaded), "count": count, "seed": seed, "iters": wanted,
                "modes": sorted(set(mode)), "patience": patience, "tol": tol,
                "batch_size": batch_size, "options": problem.option_values,
                **({"check": True} if check else {})},
        every=state_every, resume=resume)
    for d in ds:
        res, halt = test_one(loaded, problem, d, wanted, mode, patience, count, seed, batch_size,
                             dev, ctx, tol, keeper, check)
        if not ctx.main:
            continue
        doc = {"model": str(loaded.source), "seed": seed, "max_iters": loaded.max_iters,
               "processes": ctx.world}
        doc.update(res.to_dict() if res is not None else
                   {"difficulty": d, "total": halt.total, "iters": halt.iters})
        if halt is not None:
            doc["halt"] = {"accuracy": halt.accuracy(), "correct": halt.correct, **halt.extra}
        rules = baseline_rates(problem, d, count, seed)
        if rules:
            doc["baselines"] = rules
        docs.append((doc, res, halt, d))
        if not json_out:
            show_result(res, problem, d, loaded.max_iters, halt, rules)
    if not ctx.main:
        return
    if json_out:
        print_json(docs[0][0] if len(docs) == 1 else
                   {"model": str(loaded.source), "results": [doc for doc, *_ in docs]})
    if plot is not None:  # after the figures are shown: a failed write loses none of them
        written = plot_result(plot, [(res, halt, d) for _, res, halt, d in docs], loaded,
                              problem, Path(model).name)
        err_console.print(f"wrote {written}", soft_wrap=True)


def test_one(loaded, problem, d, wanted, mode, patience, count, seed, batch_size, dev, ctx,
             tol=None, keeper: "TestStates | None" = None, check: bool = False):
    """One difficulty: the streaming modes' pass and, with halt, the halting pass; with
    ``keeper`` each pass resumable, a finished one read back instead of run again."""

    if keeper is not None:
        return keeper.run(lambda pass_, state, cancel: _pass(
            loaded, problem, d, wanted, mode, patience, count, seed, batch_size, dev, ctx, tol,
            pass_, state, cancel, check), d, mode)
    res = _pass(loaded, problem, d, wanted, mode, patience, count, seed, batch_size, dev, ctx,
                tol, "stream", None, None, check)
    halt = _pass(loaded, problem, d, wanted, mode, patience, count, seed, batch_size, dev, ctx,
                 tol, "halt", None, None, check)
    return res, halt


def halt_rule(patience: int, tol: float | None, check: bool = False) -> str:
    """The halting rule in a few words: ``K=10``, ``tol=0.001``, ``K=200 or a checked answer``."""
    rule = f"tol={tol:g}" if tol is not None else f"K={patience}"
    return rule + (" or a checked answer" if check else "")


def _pass(loaded, problem, d, wanted, mode, patience, count, seed, batch_size, dev, ctx, tol,
          pass_: str, state, cancel, check: bool = False):
    """The streaming modes' pass (``stream``) or the halting pass (``halt``) of one difficulty
    (None when ``mode`` asks for neither)."""
    from dtcli.cli.progress import extrapolation_bar
    from dtcli.engine.evaluate import evaluate

    x, y = ctx.main_first(lambda: problem.dataset("test", d, count, seed))
    groups = problem.groups("test", d, count, seed)
    label = f"{problem.describe_difficulty(d)}, {wanted[-1]} iterations"
    if ctx.world > 1:
        label += f", {ctx.world} processes"
    stream_modes = tuple(m for m in dict.fromkeys(mode) if m != "halt")
    bar = extrapolation_bar if ctx.main else _no_bar
    kept = {} if state is None else {"state": state, "cancel": cancel}
    if pass_ == "stream" and stream_modes:  # --mode halt alone runs the halting pass only
        with bar(err_console, label, len(x)) as on_batch:
            return evaluate(loaded.net, problem, x, y, wanted, ctx=ctx, modes=stream_modes,
                            verify=True, batch_size=batch_size, device=dev, on_batch=on_batch,
                            on_step=on_batch.step, difficulty=d, groups=groups, **kept)
    if pass_ == "halt" and "halt" in mode:
        rule = halt_rule(patience, tol, check)
        with bar(err_console, label + f", halting ({rule})", len(x)) as on_batch:
            return evaluate(loaded.net, problem, x, y, wanted, ctx=ctx, halt=True,
                            patience=patience, tolerance=tol, check=check, batch_size=batch_size,
                            device=dev, on_batch=on_batch, on_step=on_batch.step,
                            difficulty=d, **kept)
    return None


MODE_LABELS = {"fixed": "fixed iterations", "max-conf": "max confidence",
               "verified": "verified answer", "halt": "halting"}


def plot_result(path: Path, results: list, loaded, problem, name: str) -> Path:
    """The schoop plot of ``dt test``: one curve per mode (and per difficulty), max_iters
    marked."""
    from dtcli.cli.curve_figures import PlotSeries, schoop_plot

    cfg = loaded.config
    train = problem.describe_difficulty(
        problem.parse_difficulty(cfg.train_difficulty or problem.default_train_difficulty))
    curves = []
    for res, halt, difficulty in results:
        series = [(m, res.iters, res.accuracy(m)) for m in res.modes] if res is not None else []
        if halt is not None:
            series.append(("halt", halt.iters, halt.accuracy()))
        test = problem.describe_difficulty(difficulty)
        labels = {**MODE_LABELS, "verified": problem.verify_name}
        curves += [PlotSeries(labels.get(m, m), xs, ys, max_iters=cfg.max_iters, train=train,
                         test=test) for m, xs, ys in series]
    total = (results[0][0] or results[0][1]).total
    what = name if problem.name in name and cfg.arch in name else f"{name} ({cfg.arch})"
    return schoop_plot(curves, path, title=f"{what}, {total} instances")


class _Silent:
    """What ranks other than 0 report progress to: nothing."""

    def __call__(self, *_: Any) -> None: ...

    def step(self, fraction: float) -> None: ...


@contextmanager
def _no_bar(*_: Any):
    yield _Silent()


def baseline_rates(problem, difficulty, count: int, seed: int) -> dict[str, dict[str, Any]]:
    """The problem's rules that need no training (:meth:`Problem.baselines`) on the test's
    own instances: ``{rule: {"accuracy": %, "groups": {label: %}}}`` (groups when the problem
    has them), empty when the problem has no baselines."""
    import torch

    scores = problem.baselines("test", difficulty, count, seed)
    if not scores:
        return {}
    groups = problem.groups("test", difficulty, count, seed)
    out: dict[str, dict[str, Any]] = {}
    for name, values in scores.items():
        values = torch.as_tensor(values, dtype=torch.float64).cpu()
        rule: dict[str, Any] = {"accuracy": 100.0 * values.mean().item() if len(values) else 0.0}
        if groups is not None:
            labels, ids = groups
            ids = torch.as_tensor(ids).cpu()
            rule["groups"] = {label: 100.0 * values[ids == k].mean().item()
                              if bool((ids == k).any()) else 0.0
                              for k, label in enumerate(labels)}
        out[name] = rule
    return out


def show_result(res, problem, difficulty, max_iters: int, halt=None,
                baselines: dict[str, dict[str, Any]] | None = None) -> None:
    """The table (a row per chosen iteration, a column per mode), the curve, the summary and
    the problem's baselines on the same instances."""
    main = res if res is not None else halt
    accs = {m: res.accuracy(m) for m in res.modes} if res is not None else {}
    if halt is not None:
        accs["halt"] = halt.accuracy()
    best_iter, best_acc = main.best()
    table = Table(title=f"{problem.name}: {problem.describe_difficulty(difficulty)}, "
                        f"{main.total} instances (trained with max_iters {max_iters})")
    table.add_column("iteration", justify="right")
    for m in accs:
        table.add_column(f"{problem.verify_name if m == 'verified' else m} %", justify="right")
    for it in table_rows(main.iters, max_iters, best_iter):
        j = main.iters.index(it)
        marks = (" ◀ best" if it == best_iter else "") + (" (max_iters)" if it == max_iters else "")
        table.add_row(f"{it}{marks}", *(f"{a[j]:.1f}" for a in accs.values()))
    console.print(table)
    series = {(problem.verify_name if m == "verified" else m): (main.iters, a)
              for m, a in accs.items()}
    console.print(line_plot(series, title="accuracy vs iterations", xlabel="iteration",
                            ylabel="%", ylim=(0, 100), width=min(console.width, 100)))
    if res is not None:
        show_groups(res, best_iter, problem.verify_name, baselines)
    line = f"best {best_acc:.1f}% at iteration {best_iter}" + (" (halting)" if res is None else "")
    if max_iters in main.iters:
        line += f"; {main.at(max_iters):.1f}% at max_iters ({max_iters})"
    console.print(line)
    if baselines:
        rates = ", ".join(f"{name} {rule['accuracy']:.1f}%" for name, rule in baselines.items())
        console.print(f"baselines on the same {main.total:,} instances: {rates}")
    if halt is not None:
        console.print(halt_summary(halt, res))


def halt_summary(halt, fixed=None) -> str:
    """What halting gave and what it saved, in instance-iterations and in wall time."""
    e = halt.extra
    last = halt.iters[-1]
    rule = halt_rule(e["patience"], e.get("tolerance"), bool(e.get("check")))
    text = (f"halt ({rule}): {halt.accuracy()[-1]:.1f}% at iteration {last}")
    if fixed is not None:
        text += f" vs fixed {fixed.accuracy()[-1]:.1f}%"
    text += (f"; mean halting iteration {e['mean_halt_iteration']:.1f}; computed "
             f"{e['iterations_computed']:,} of {e['iterations_fixed']:,} instance-iterations "
             f"(compute saved {100 * e['compute_saved']:.1f}%); halting pass {e['seconds']:.1f} s")
    solved = round(halt.accuracy()[-1] * halt.total / 100)
    if e.get("cpu_seconds") is not None and solved:
        text += f", {e['cpu_seconds'] / solved:.3g} CPU-s per solved instance ({solved:,} solved)"
    if fixed is not None:
        text += (f", fixed pass {fixed.extra['seconds']:.1f} s (both ran: "
                 f"{100 * (1 - e['seconds'] / max(fixed.extra['seconds'], 1e-9)):.0f}% less wall time)")
    return text


def show_groups(res, best_iter: int, verify_name: str = "verified",
                baselines: dict[str, dict[str, Any]] | None = None) -> None:
    """Per-group accuracy (e.g. per rating band) at the best and the last iteration, and each
    baseline's rate in the group."""
    if not res.groups:
        return
    modes = [m for m in ("fixed", "verified") if m in res.groups]
    table = Table(title="by group")
    table.add_column("group", no_wrap=True)  # a band's label, whole even in 80 columns
    table.add_column("count", justify="right")
    picks = sorted({best_iter, res.iters[-1]})
    for m in modes:
        for it in picks:
            name = verify_name if m == "verified" else m
            table.add_column(f"{name} % @{it}", justify="right")
    rules = {name: rule["groups"] for name, rule in (baselines or {}).items() if "groups" in rule}
    for name in rules:
        table.add_column(f"{name} %", justify="right", style="dim")
    accs = {m: res.group_accuracy(m) for m in modes}
    for label, total in zip(res.groups["labels"], res.groups["totals"]):
        cells = [f"{accs[m][label][res.iters.index(it)]:.1f}" for m in modes for it in picks]
        cells += [f"{by_group.get(label, 0.0):.1f}" for by_group in rules.values()]
        table.add_row(label, str(total), *cells)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("test")(test)
