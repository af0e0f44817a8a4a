"""The Problem contract that every problem plugin implements.

A problem turns a *difficulty* (bits, maze size, a rating range, ...) into tensors, scores a
network's logits, and draws instances in the terminal. Subclass :class:`Problem`, set the class
attributes and implement :meth:`Problem.generate` and :meth:`Problem.render`; everything else has
a default that suits per-position classification (prefix sums, mazes).

This module must not import torch at module level: ``dt --help`` imports it.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from dtcli.contracts.errors import DtError
from dtcli.contracts.options import Option, resolve_options

if TYPE_CHECKING:  # pragma: no cover
    import torch

SPLITS = ("train", "test")
#: data sets this small are generated afresh instead of cached
UNCACHED_COUNT = 8
#: test sets are generated in chunks of this many instances, each from its own seed, so the
#: first N instances of a seed are the same whatever count is asked for
TEST_CHUNK = 16


def split_seed(seed: int, split: str) -> int:
    """The seed a split's data is made from: its own stream for each split."""
    return zlib.crc32(f"{seed}/{split}".encode())


class Problem:
    """Base class for problems. One instance holds one choice of problem options."""

    #: registry name, e.g. ``"prefix-sums"``
    name: ClassVar[str] = ""
    #: one line for ``dt list``
    summary: ClassVar[str] = ""
    #: kind of output: ``"sequence"`` (per position, 1D), ``"grid"`` (per cell, 2D),
    #: ``"board"`` (per square, a move), ``"label"`` (one class per input)
    kind: ClassVar[str] = "sequence"
    #: spatial dimensions of an input (1 for sequences, 2 for grids and boards, 0 for labels)
    spatial_dims: ClassVar[int] = 1
    in_channels: ClassVar[int] = 1
    num_classes: ClassVar[int] = 2
    #: what a difficulty counts, for messages: ``"bits"``, ``"size"``
    difficulty_unit: ClassVar[str] = "difficulty"
    default_train_difficulty: ClassVar[str] = ""
    default_test_difficulty: ClassVar[str] = ""
    #: problem options, given on the command line as ``-o NAME=VALUE``
    options: ClassVar[tuple[Option, ...]] = ()
    #: bump when ``generate`` changes its output, so stale cached data is not reused
    data_version: ClassVar[int] = 1
    #: True when ``generate(d, n, seed)[:m]`` equals ``generate(d, m, seed)``; otherwise test
    #: sets are made in seeded chunks so that they are (see :meth:`dataset`)
    nested_data: ClassVar[bool] = False
    #: named hyper-parameter sets; see :meth:`preset`
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: what :meth:`verify` checks, as shown beside accuracies and answers ("legal move")
    verify_name: ClassVar[str] = "verified"
    #: what :meth:`position_correct` counts, for progress lines ("bits", "open cells")
    position_noun: ClassVar[str] = "positions"
    #: names ``dt data fetch NAME`` downloads for this problem (e.g. a data set's name)
    fetchable: ClassVar[tuple[str, ...]] = ()
    #: whether :meth:`dataset` keeps what :meth:`make_data` made in dt's disk cache (off for
    #: data read straight from files the user has)
    cache_data: bool = True
    #: the shape of one input, ``(channels, *spatial)``, when every difficulty has the same
    #: one (images); None when it grows with the difficulty (bits, maze size)
    input_shape: tuple[int, ...] | None = None

    def __init__(self, **options: Any) -> None:
        self.option_values: dict[str, Any] = resolve_options(
            self.options, options, f"problem {self.name!r}"
        )

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.option_values.items())
        return f"{type(self).__name__}({opts})"

    # -- difficulty and data ---------------------------------------------------------------

    def parse_difficulty(self, text: str | int) -> Any:
        """Parse a difficulty given on the command line. Default: a positive integer."""
        try:
            value = int(str(text).strip())
        except ValueError:
            raise DtError(
                f"difficulty {text!r} for {self.name} is not a whole number of {self.difficulty_unit}"
            ) from None
        if value <= 0:
            raise DtError(
                f"difficulty must be a positive number of {self.difficulty_unit}, got {value}"
            )
        return value

    def describe_difficulty(self, difficulty: Any) -> str:
        return f"{difficulty} {self.difficulty_unit}"

    def generate(self, difficulty: Any, count: int, seed: int) -> tuple["torch.Tensor", "torch.Tensor"]:
        """Make ``count`` instances of ``difficulty`` from ``seed``: ``(inputs, targets)``.

        Must be deterministic in its arguments (and the data-affecting options). The default
        :meth:`make_data` calls it; a problem whose data comes from elsewhere (files) overrides
        :meth:`make_data` instead.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def make_data(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """Make one data set: ``{"inputs", "targets"}`` plus any per-instance extras (a
        puzzle's rating, its row in a file), every value with ``count`` rows.

        ``seed`` is already the split's own seed (:func:`split_seed`), and :meth:`dataset`
        has checked ``split`` and ``count`` and caches what this returns; this is the one hook
        a problem overrides to bring its own data. Default: :meth:`generate`, a test set in
        seeded chunks of :data:`TEST_CHUNK` unless :attr:`nested_data` (so the first N
        instances of a seed do not depend on ``count``).
        """
        if split == "test" and not self.nested_data:
            return self._nested(difficulty, count, seed)
        inputs, targets = self.generate(difficulty, count, seed)
        return {"inputs": inputs, "targets": targets}

    def data_fields(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """Everything that determines a data set: the data cache key. A problem that reads a
        file adds the file's identity."""
        data_opts = {o.name: self.option_values[o.name] for o in self.options if o.affects_data}
        fields = {"problem": self.name, "version": self.data_version, "options": data_opts,
                  "split": split, "difficulty": difficulty, "count": count, "seed": seed}
        if split == "test" and not self.nested_data:
            fields["sampling"] = f"nested/{TEST_CHUNK}"
        return fields

    def dataset(self, split: str, difficulty: Any, count: int, seed: int):
        """``(inputs, targets)`` for ``split`` ("train" or "test"), deterministic and cached
        (the :meth:`data_record` of the same arguments, without its extras).

        Each split draws from its own seed stream (:func:`split_seed`), so a test set never
        repeats the training generator's draws even when both use the same ``seed``.
        """
        data = self.data_record(split, difficulty, count, seed)
        return data["inputs"], data["targets"]

    def data_record(self, split: str, difficulty: Any, count: int, seed: int) -> dict[str, Any]:
        """What :meth:`make_data` made for these arguments (checked, from the disk cache when
        :attr:`cache_data`, the last one kept in memory): inputs, targets and extras."""
        from dtcli.contracts.datacache import load_or_make

        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if count <= 0:
            raise DtError(f"count must be positive, got {count}")
        fields = self.data_fields(split, difficulty, count, seed)
        key = repr(sorted(fields.items()))
        memo = self.__dict__.get("_last_record")
        if memo is not None and memo[0] == key:
            return memo[1]

        def make() -> dict[str, Any]:
            return self.make_data(split, difficulty, count, split_seed(seed, split))

        # a handful (dt solve, the TUI) is cheaper to make than to file
        if not self.cache_data or count <= UNCACHED_COUNT:
            data = make()
        else:
            data = load_or_make(self.name, fields, make)
        self._last_record = (key, data)
        return data

    def _nested(self, difficulty: Any, count: int, seed: int) -> dict:
        import torch

        parts = [self.generate(difficulty, TEST_CHUNK, zlib.crc32(f"{seed}/{c}".encode()))
                 for c in range(-(-count // TEST_CHUNK))]
        return {"inputs": torch.cat([x for x, _ in parts])[:count],
                "targets": torch.cat([y for _, y in parts])[:count]}

    def import_data(self, path: Path) -> tuple["torch.Tensor", "torch.Tensor", Any]:
        """Read a data set from files the user has (``dt data import``): ``(inputs, targets,
        difficulty)``. Problems that can read a published format override this."""
        raise DtError(f"problem {self.name!r} cannot import data files")

    def groups(self, split: str, difficulty: Any, count: int, seed: int):
        """Optional sub-groups of a data set, e.g. rating bands: ``(labels, group id per
        sample)`` aligned with :meth:`dataset`, or None. ``dt test`` reports each group."""
        return None

    def baselines(self, split: str, difficulty: Any, count: int,
                  seed: int) -> dict[str, "torch.Tensor"]:
        """Optional rules that need no training, scored on the instances :meth:`dataset`
        returns for the same arguments: ``{name: float tensor (N,)}``, each value the
        probability in [0, 1] that the rule solves that instance by :meth:`correct`'s measure
        (1 or 0 for a deterministic rule; for a random one its exact expectation, so the figure
        has no sampling noise). ``dt test`` prints each rule's rate beside the model's, overall
        and per :meth:`groups`, and ``--json`` includes them. Chess: a random legal move and a
        one-ply heuristic. Default: none (an empty dict)."""
        return {}

    def instance_names(self, split: str, difficulty: Any, count: int, seed: int) -> list[str] | None:
        """What to call the instances :meth:`dataset` returns, e.g. the puzzle numbers of a
        file the instances come from (``dt data show``); None: "#0", "#1", ..."""
        return None

    def generate_files(self, count: int, seed: int, out: Path | None,
                       progress: Callable[[int, int], None]) -> dict[str, Any] | None:
        """For problems whose data lives in files (chess puzzles): make ``count`` more for
        ``dt data generate`` and return a summary. None (the default) means ``dt data generate``
        generates and caches tensors with :meth:`dataset`."""
        return None

    def fetch(self, name: str, dest: Path, progress: Callable[[int, int | None], None]) -> list[Path]:
        """Download the published data set ``name`` (one of :attr:`fetchable`) into ``dest``."""
        raise DtError(f"problem {self.name!r} has nothing to download")

    def augment(self, inputs: "torch.Tensor", targets: "torch.Tensor",
                generator: "torch.Generator") -> tuple["torch.Tensor", "torch.Tensor"]:
        """Train-time augmentation of one batch (on its device); draw randomness only from
        ``generator`` so runs stay reproducible. Default: none."""
        return inputs, targets

    # -- scoring ---------------------------------------------------------------------------

    def loss(self, logits: "torch.Tensor", targets: "torch.Tensor", inputs: "torch.Tensor") -> "torch.Tensor":
        """Mean cross-entropy over every output position."""
        import torch.nn.functional as F

        return F.cross_entropy(logits, targets)

    def loss_weight(self, targets: "torch.Tensor", inputs: "torch.Tensor") -> "torch.Tensor | int":
        """How many terms :meth:`loss` averages over for this batch (default: every target
        position). A distributed run weighs each rank's mean loss by its share of this, so a
        global batch split unevenly still gives the gradient of its mean. Override together
        with a :meth:`loss` that averages over a subset (mazes: the open pixels)."""
        return targets.numel()

    def predict(self, logits: "torch.Tensor", inputs: "torch.Tensor") -> "torch.Tensor":
        """The predicted class at every position: shape of the targets."""
        return logits.argmax(1)

    def correct(self, prediction: "torch.Tensor", targets: "torch.Tensor") -> "torch.Tensor":
        """Exact match per sample (every position right): a bool tensor of shape (N,)."""
        return (prediction == targets).reshape(len(targets), -1).all(1)

    def position_correct(self, prediction: "torch.Tensor", targets: "torch.Tensor",
                         inputs: "torch.Tensor") -> "tuple[torch.Tensor, torch.Tensor] | None":
        """Partial credit while whole instances are still wrong: ``(right, counted)`` positions
        over the batch (the positions of :meth:`position_mask`), shown beside the exact-match
        accuracy during training. None (the default for one label per input) shows none."""
        import torch

        if targets.dim() < 2:
            return None
        right = prediction == targets
        mask = self.position_mask(inputs)
        if mask is None:
            return right.sum(), torch.tensor(right.numel(), device=right.device)
        mask = mask.bool().reshape(right.shape)
        return (right & mask).sum(), mask.sum()

    def position_mask(self, inputs: "torch.Tensor") -> "torch.Tensor | None":
        """The output positions that matter (mazes: open pixels), for per-iteration summaries
        such as mean confidence; None means all of them."""
        return None

    def position_confidence(self, logits: "torch.Tensor", inputs: "torch.Tensor") -> "torch.Tensor":
        """Probability of the predicted class at every position."""
        return logits.float().softmax(1).amax(1)

    def confidence(self, logits: "torch.Tensor", inputs: "torch.Tensor") -> "torch.Tensor":
        """One confidence per sample, used by max-confidence extrapolation.

        Default, as the reference: the sum over positions of the top-class probability.
        """
        conf = self.position_confidence(logits, inputs)
        return conf.reshape(len(conf), -1).sum(1)

    def verify(self, prediction: "torch.Tensor", inputs: "torch.Tensor", targets: "torch.Tensor"):
        """An optional stronger check than :meth:`correct` (None when the problem has none)."""
        return None

    def check_answer(self, prediction: "torch.Tensor", inputs: "torch.Tensor"):
        """Per instance, whether the answer is checkably a solution from the input alone, with
        no label (a maze: one simple path of open cells from start to end); None when the
        problem cannot tell. ``dt test --mode halt --halt-on-check`` stops thinking about an
        instance as soon as its answer passes, instead of waiting for it to stand still: only
        a check that never passes a wrong answer belongs here."""
        return None

    # -- presentation ----------------------------------------------------------------------

    def render(self, inputs, prediction=None, target=None, confidence=None,
               probabilities=None, fit: tuple[int, int] | None = None,
               extras: dict[str, Any] | None = None) -> Any:
        """A Rich renderable of one instance (unbatched tensors), with an optional prediction.

        ``confidence`` is :meth:`position_confidence` of the prediction; ``probabilities`` the
        softmax over classes (classes first), for problems that show more than the top class.
        ``fit`` is the room on screen, ``(columns, lines)``: a problem whose drawing can scale
        (mazes) makes it as large as fits, or shrinks a large instance into it; others may
        ignore it. ``extras`` are the instance's (:class:`~dtcli.contracts.instances.Instance`).
        Older plugins may leave either parameter out: the host draws through
        :func:`dtcli.contracts.instances.draw`, which passes only what ``render`` takes.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement render()")

    def render_image(self, inputs, prediction=None, target=None, confidence=None,
                     probabilities=None, fit: tuple[int, int] | None = None,
                     extras: dict[str, Any] | None = None) -> Any:
        """Optional: one instance as a picture, for ``dt solve --save`` (GIF/PNG frames).

        Takes what :meth:`render` takes (unbatched CPU tensors) and returns an RGB image as a
        ``numpy.ndarray`` of shape ``(height, width, 3)``, dtype ``uint8``. Draw it at the
        problem's natural scale (e.g. one pixel per maze cell, a few for a bit or a square):
        the host enlarges a small picture by a whole factor (nearest neighbour, so cells stay
        sharp) and adds the caption (iteration, correct or not) itself. ``fit`` is the most
        room, ``(width, height)`` in pixels: a problem whose instances can be huge (mazes)
        shrinks the picture into it, keeping what matters visible. Show the prediction over
        the input, and mark wrong and missed positions when ``target`` is given.

        Problems that leave this method out cannot be saved as images; ``dt solve --save``
        says so.
        """
        raise DtError(f"problem {self.name!r} cannot draw itself as an image "
                      "(it has no render_image method), so its solves cannot be saved")

    def render_text(self, inputs, prediction=None, target=None,
                    extras: dict[str, Any] | None = None) -> str | None:
        """Optional: one instance as plain text (no colours), for logs: a redirected ``dt
        solve`` prints it where :meth:`render` would draw pixels that carry their meaning in
        colour only. None (the default) when the problem has no such drawing, or the instance
        is too large to read as text; the host then prints one line instead."""
        return None

    def parse_instance(self, text: str) -> Any:
        """Parse one instance typed or stored by the user (``dt solve --input``): its input, or
        an :class:`~dtcli.contracts.instances.Instance` when the text says more (the solution,
        a side to move)."""
        raise DtError(f"problem {self.name!r} cannot read instances from text")

    def target_for(self, inputs: "torch.Tensor") -> "torch.Tensor | None":
        """The true answer for a user-given instance, when the problem can compute it."""
        return None

    # -- presets ---------------------------------------------------------------------------

    def preset(self, name: str, arch: str) -> dict[str, Any]:
        """Hyper-parameters of preset ``name`` for architecture ``arch``.

        ``presets[name]`` is a dict of training settings; an entry ``"archs": {arch: {...}}``
        overrides them for one architecture, and ``"problem_options": {...}`` sets problem
        options (which ``-o`` still overrides).
        """
        if name not in self.presets:
            known = ", ".join(self.presets) or "none"
            raise DtError(f"problem {self.name!r} has no preset {name!r}; presets: {known}")
        preset = dict(self.presets[name])
        per_arch = preset.pop("archs", {})
        preset.update(per_arch.get(arch, {}))
        return preset
