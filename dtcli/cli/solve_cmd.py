"""``dt solve``: watch a model think about one instance, iteration by iteration."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from dtcli.cli.common import OPTION_HELP, console, err_console, print_json
from dtcli.cli.zoo_cmd import complete_model
from dtcli.contracts.errors import DtError
from dtcli.contracts.instances import Instance, dataset_instance, draw, read_instance


def status_line(frame, total: int, first_correct: int | None, rate: float | None = None,
                verify_name: str = "verified", patience: int | None = None,
                noun: str | None = None) -> Text:
    """Two lines: the iteration's figures (and speed, ETA), then the verdict so far. With
    ``patience`` (halting after that many unchanged answers) the ETA is the halt's, should the
    answer hold from now, and the full budget's is an upper bound."""
    text = Text()
    text.append(f"iteration {frame.iteration:>4}/{total}", style="bold")
    if rate:
        eta = (total - frame.iteration) / rate
        if patience is not None and frame.iteration + patience - frame.stable < total:
            held = max(patience - frame.stable, 0) / rate
            text.append(f"   {rate:.1f} it/s   ETA {format_seconds(held)} if the answer holds "
                        f"(at most {format_seconds(eta)})")
        else:
            text.append(f"   {rate:.1f} it/s   ETA {format_seconds(eta)}")
    if frame.diverged_at is not None:  # an overflowed thought's confidence means nothing
        text.append(f"   diverged at iteration {frame.diverged_at}: the thought overflowed, "
                    "its answers mean nothing from there\n", style="bold red")
    else:
        text.append(f"   confidence {frame.mean_confidence:.3f}   Δthought "
                    f"{frame.delta_thought:.4f}   changed {100 * frame.changed:5.1f}%\n")
    if frame.correct is not None:
        text.append("correct ✓" if frame.correct else "not yet ✗",
                    style="bold green" if frame.correct else "bold red")
        if not frame.correct and frame.position_acc is not None:
            text.append(f" ({100 * frame.position_acc:.1f}% of {noun or 'positions'} right)",
                        style="dim")
    if frame.verified is not None:
        text.append(f"   {verify_name} {'✓' if frame.verified else '✗'}",
                    style="green" if frame.verified else "yellow")
    if first_correct is not None:
        text.append(f"   first correct at iteration {first_correct}", style="cyan")
    if frame.stable > 1:
        text.append(f"   unchanged for {frame.stable}", style="dim")
    return text


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


#: an instance with this many output positions is "large": dt solve halts by default
LARGE = 3000


def load_instance(problem, text_or_path: str):
    """An instance typed on the command line, or read from a text file. Something that looks
    like a path (starting with / ./ ../ ~, or ending .txt and the like) must be a readable
    text file: a mistyped path is never read as an instance."""
    path = Path(text_or_path).expanduser()
    if path.is_file():
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise DtError(f"--input {path} is {path.stat().st_size:,} bytes: not an instance "
                          f"file (at most {MAX_INPUT_BYTES:,})")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DtError(f"--input {path} is not a text file; draw the instance as text "
                          "(`dt solve --help` says how)") from None
        except OSError as exc:
            raise DtError(f"cannot read --input {path}: {exc.strerror}") from None
        return read_instance(problem, text)
    if path.is_dir():
        raise DtError(f"--input {path} is a directory, not an instance file")
    if text_or_path.startswith(("/", "./", "../", "~")) or path.suffix.lower() in FILE_SUFFIXES:
        raise DtError(f"no file {text_or_path!r}; give an instance file that exists, or the "
                      "instance itself as text")
    return read_instance(problem, text_or_path)


MAX_INPUT_BYTES = 64 * 2**20
FILE_SUFFIXES = {".txt", ".text", ".maze", ".fen", ".pgn", ".csv", ".json", ".npy", ".bin",
                 ".dat", ".png", ".gz", ".zst"}


def solve(
    model: str = typer.Argument(..., help="A run directory or a zoo name (`dt zoo list`).",
                                autocompletion=complete_model),
    difficulty: Optional[str] = typer.Option(None, "--difficulty", "-d", help="Difficulty of a fresh instance."),
    seed: int = typer.Option(0, help="Which fresh instance (seed of the generator)."),
    iters: Optional[int] = typer.Option(None, "--iters", "-i", help="Iterations to think (default 10 x max_iters; a feed-forward net: its depth)."),
    input_: Optional[str] = typer.Option(None, "--input", "--fen",
                                         help="Your own instance, as text or a file: bits for prefix sums, a maze drawn with # . S E, a FEN for chess."),
    halt: Optional[bool] = typer.Option(None, "--halt/--no-halt",
                                        help=f"Stop once the answer has not changed for --patience iterations and is verified (default: on for instances of {LARGE:,}+ outputs, e.g. mazes from size 59)."),
    patience: int = typer.Option(20, "--patience", "-k", help="Iterations without change before halting."),
    tol: Optional[float] = typer.Option(None, "--tol", help="Halt once the thought's relative change is below this (contractive nets such as dt-l; implies --halt)."),
    fps: float = typer.Option(20.0, help="Frames per second of the live view, at most (0 = as fast as possible)."),
    option: Optional[list[str]] = typer.Option(None, "-o", "--option", help=OPTION_HELP),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps."),
    json_out: bool = typer.Option(False, "--json", help="Print per-iteration figures as JSON instead."),
    save: Optional[str] = typer.Option(None, "--save", metavar="PATH",
                                       help="Also save the solve as pictures: FILE.gif (an "
                                            "animation, played at --fps), FILE.png (the last "
                                            "frame) or DIR/ (a PNG per iteration), each frame "
                                            "captioned with the iteration and whether it is "
                                            "correct. Memory stays bounded: a longer solve "
                                            "keeps at most --max-frames frames, every k-th "
                                            "iteration plus the first, the first correct and "
                                            "the last."),
    max_frames: int = typer.Option(100, "--max-frames",
                                   help="Most frames --save keeps (GIF, DIR/)."),
    state: Optional[Path] = typer.Option(None, "--state", metavar="FILE",
                                         help="Keep the solve's state (its thought and iteration) in FILE, written every --state-every minutes and on Ctrl-C; continue with --resume (an 801x801 maze over days)."),
    state_every: float = typer.Option(5.0, "--state-every", help="Minutes between states written to --state."),
    resume: bool = typer.Option(False, "--resume", help="Continue the solve whose state --state FILE holds (the same model, instance and iterations)."),
) -> None:
    """Solve one instance live: the prediction redrawn after every iteration.

    The status line shows speed and ETA, mean confidence, the relative change of the thought,
    the share of outputs that changed, and the iteration at which the answer first became
    correct. A large instance is drawn scaled to the terminal; memory stays flat however many
    iterations you ask for. With output to a file, progress lines replace the live view.
    """
    from dtcli.cli.common import parse_option_pairs
    from dtcli.config import think_iters
    from dtcli.engine.device import configure_threads, resolve_device
    from dtcli.engine.model import load_model
    from dtcli.engine.resumable import weights_identity
    from dtcli.engine.solve import solve as engine_solve

    if patience < 1:
        raise DtError(f"--patience must be at least 1, got {patience}")
    if fps < 0:
        raise DtError(f"--fps must be 0 or more, got {fps}")
    configure_threads()
    dev = resolve_device(device)
    loaded = load_model(model, device=dev)
    problem = loaded.problem
    if option:
        from dtcli.plugins import get_registry

        problem = get_registry().reopen(problem, parse_option_pairs(option))
    total = think_iters(loaded.max_iters, loaded.net.max_depth, iters)
    if total <= 0:
        raise DtError(f"--iters must be positive, got {total}")
    loaded.net.check_iters(total)
    if input_ is not None:
        inst = load_instance(problem, input_)
    else:
        d = problem.parse_difficulty(difficulty or problem.default_train_difficulty)
        inst = dataset_instance(problem, "test", d, 1, seed, 0)
    x, y, extras = inst.inputs, inst.target, inst.extras
    if halt is None:
        halt = (y.numel() if y is not None else x[0].numel()) >= LARGE
    recorder = None
    if save is not None:
        from dtcli.cli.animation import Recorder

        recorder = Recorder(problem, x, y, total, save, max_frames=max_frames, fps=fps,
                            extras=extras)
    if tol is not None and not tol > 0:
        raise DtError(f"--tol must be positive, got {tol}")
    keeper = None
    if state is not None or resume:
        keeper = solve_state(state, resume, state_every, {
            "model": weights_identity(loaded), "input": input_, "difficulty": difficulty,
            "seed": seed, "iters": total, "halt": halt, "patience": patience, "tol": tol,
            "options": problem.option_values})
    frames = engine_solve(loaded.net, problem, x, total, target=y, device=dev,
                          halt_patience=patience if halt and tol is None else None,
                          halt_tolerance=tol, state=keeper)
    if keeper is not None:
        frames = kept_until_done(frames, keeper)
    if recorder is not None:
        frames = recorder.tap(frames)
    if json_out:
        first_correct, out = None, []
        for f in frames:
            first_correct = f.first_correct
            out.append(f.summary())
        doc = {"model": str(loaded.source), "first_correct": first_correct,
               "halted": bool(out) and out[-1]["iteration"] < total, "frames": out}
        if recorder is not None:
            doc["saved"] = recorder.finish()
        print_json(doc)
        return
    began = time.perf_counter()
    watch = live_view if console.is_terminal else progress_lines
    last, first_correct = watch(frames, problem, inst, total, fps,
                                patience if halt and tol is None else None)
    console.print(verdict(last, first_correct, total, time.perf_counter() - began),
                  soft_wrap=not console.is_terminal)  # a log keeps it on one line for grep
    if recorder is not None:
        saved = recorder.finish()
        every = f", every {saved['every']} iterations" if saved["every"] > 1 else ""
        console.print(f"saved {saved['path']} ({saved['frames']} frame"
                      f"{'s' if saved['frames'] != 1 else ''}{every})", soft_wrap=True)


def solve_state(path: Path | None, resume: bool, every: float, key: dict):
    """The resumable state of a long solve (``--state FILE``, ``--resume``)."""
    from dtcli.engine.resumable import ResumeState

    if path is None:
        raise DtError("--resume continues the solve whose state --state FILE holds: give --state")
    return ResumeState(path, key, every=every, resume=resume)


def kept_until_done(frames, keeper):
    """The frames of a solve with a state: on Ctrl-C or SIGTERM the state is written at the
    next iteration and the command ends (code 130) saying how to continue; a solve that ends
    removes its state."""
    from dtcli.cli.common import stop_on_signals

    with stop_on_signals() as interrupted:
        for frame in frames:
            yield frame
            if interrupted():
                keeper.every = 0  # written at the next iteration: the engine asks due()
                next(frames, None)
                err_console.print(f"interrupted at iteration {frame.iteration}: the solve's "
                                  f"state is in {keeper.path}; continue it with the same "
                                  "command and --resume", soft_wrap=True)
                raise typer.Exit(130)
    keeper.finish()


def live_view(frames, problem, inst: Instance, total: int, fps: float,
              patience: int | None = None):
    """Redraw the instance (scaled to the terminal) at most ``fps`` times a second; a fast
    net is slowed to ``fps`` so it can be watched, a slow one is never waited for."""
    delay = 1.0 / fps if fps > 0 else 0.0
    last = first_correct = None
    began = shown = time.perf_counter()
    with Live(console=console, auto_refresh=False, transient=False) as live:
        for f in frames:
            first_correct = f.first_correct
            last = f
            now = time.perf_counter()
            if now - shown < delay and f.iteration < total:
                time.sleep(delay - (now - shown))  # a fast net, slowed to be watched
            shown = time.perf_counter()
            rate = f.iteration / max(shown - began, 1e-9)
            fit = (console.width, max(4, console.height - 4))
            live.update(Group(draw(problem, inst.inputs, f.prediction, inst.target,
                                   f.confidence, f.probabilities, fit=fit, extras=inst.extras),
                              status_line(f, total, first_correct, rate,
                                          problem.verify_name, patience,
                                          problem.position_noun)), refresh=True)
    return last, first_correct


def progress_lines(frames, problem, inst: Instance, total: int, fps: float,
                   patience: int | None = None, every: float = 10.0):
    """Output to a file: no redraws and no waiting; a progress line every ``every`` seconds,
    then the last frame."""
    last = first_correct = None
    began = time.perf_counter()
    reported = began
    for f in frames:
        first_correct = f.first_correct
        last = f
        now = time.perf_counter()
        if now - reported >= every:
            reported = now
            rate = f.iteration / (now - began)
            console.print(status_line(f, total, first_correct, rate, problem.verify_name,
                                      patience, problem.position_noun)
                          .plain.replace("\n", "   "), soft_wrap=True)  # one line a report
    if last is not None:
        drawing = draw(problem, inst.inputs, last.prediction, inst.target, last.confidence,
                       last.probabilities, fit=(console.width, 60), extras=inst.extras)
        if needs_colour(drawing):  # half-block pixels say nothing in a log without colours
            text = problem.render_text(inst.inputs, last.prediction, inst.target, inst.extras)
            if text:
                console.print(text, markup=False, highlight=False, soft_wrap=True)
            else:
                console.print("(the last frame is a picture too large to draw as text: watch "
                              "it in a terminal, or save it with --save FILE.png)", soft_wrap=True)
        else:
            console.print(drawing)
        console.print(status_line(last, total, first_correct, None, problem.verify_name,
                                  noun=problem.position_noun)
                      .plain.replace("\n", "   "), soft_wrap=True)
    return last, first_correct


def needs_colour(renderable) -> bool:
    """Whether a drawing is made of half-block pixels (a maze, an image), which carry their
    information in colour only."""
    import io

    from rich.console import Console

    capture = Console(file=io.StringIO(), width=console.width, color_system=None)
    capture.print(renderable)
    text = capture.file.getvalue()
    return text.count("▀") + text.count("▄") > len(text) // 20


def verdict(last, first_correct: int | None, total: int, seconds: float) -> Text:
    """The last line: solved, not solved, or overthinking; where it halted; the wall time."""
    if last is None:
        return Text("no iterations ran")
    took = f" ({last.iteration} iterations in {format_seconds(seconds)}, " \
           f"{last.iteration / max(seconds, 1e-9):.1f} it/s)"
    halted = f", halted at iteration {last.iteration} (unchanged for {last.stable})" \
        if last.iteration < total else ""
    if last.diverged_at is not None:
        return Text(f"diverged at iteration {last.diverged_at}: the thought overflowed (a net "
                    f"that cannot think this long){took}", style="bold red")
    if last.correct is None:
        return Text(f"done{halted}{took}", style="bold")
    if first_correct is None:
        return Text(f"not solved in {last.iteration} iterations{halted}{took}", style="bold red")
    if last.correct:
        return Text(f"solved: first correct at iteration {first_correct}{halted}{took}",
                    style="bold green")
    return Text(f"correct at iteration {first_correct}, wrong again by iteration "  # overthinking
                f"{last.iteration} (overthinking){took}", style="bold yellow")


def register(app: typer.Typer) -> None:
    app.command("solve")(solve)
