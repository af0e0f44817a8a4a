"""The solve view's keys and play speeds, and what its footer shows of them.

The footer lists the keys in ``SOLVE_BINDINGS``' order (Textual would put the arrow keys first:
the focused instance pane binds them too). Under ``NARROW`` columns it is compact, the speed
and size keys leave it and "play/pause" reads "play", so that an 80-column footer keeps every
screen key (``m``, ``e``, ``t``), help and quit; the help screen lists them all.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.binding import ActiveBinding, Binding

SPEEDS = (1, 2, 5, 10, 20, 30, 60)  # iterations shown per second
DEFAULT_SPEED = SPEEDS.index(20)
STEP = Binding.Group("step", compact=True)
SPEED = Binding.Group("speed", compact=True)
SIZE = Binding.Group("size", compact=True)

SOLVE_BINDINGS = [
    Binding("space", "toggle_play", "play/pause", key_display="space", priority=True,
            id="play"),
    Binding("left", "step(-1)", "back", key_display="←", group=STEP, priority=True),
    Binding("right", "step(1)", "step", key_display="→", group=STEP, priority=True),
    Binding("minus", "speed(-1)", "slower", key_display="-", group=SPEED, id="minor-slower"),
    Binding("plus", "speed(1)", "faster", key_display="+", group=SPEED, id="minor-faster"),
    Binding("equals_sign", "speed(1)", "faster", show=False),
    Binding("n", "new_instance", "new"),
    Binding("left_square_bracket", "difficulty(-1)", "smaller", key_display="[", group=SIZE,
            id="minor-smaller"),
    Binding("right_square_bracket", "difficulty(1)", "bigger", key_display="]", group=SIZE,
            id="minor-bigger"),
    Binding("a", "toggle_answer", "answer"),
    Binding("m", "choose_model", "model"),
    Binding("e", "app.extrapolation", "extrapolate"),
    Binding("t", "app.training", "train"),
    Binding("question_mark", "app.help", "help", key_display="?"),
    Binding("q", "app.quit", "quit"),
]

#: the footer's order: the bindings' place in SOLVE_BINDINGS
_ORDER = {(b.key, b.action): i for i, b in enumerate(SOLVE_BINDINGS)}
#: descriptions shortened on a narrow footer
_SHORT = {"play": "play"}


def footer_bindings(active: dict[str, ActiveBinding], narrow: bool) -> dict[str, ActiveBinding]:
    """``active`` (a screen's active bindings) in the footer's order; when ``narrow``
    without the minor keys and with short descriptions. Only the footer reads this: keys are
    dispatched by Textual's binding chain, so every key still works."""

    def place(item: tuple[str, ActiveBinding]) -> int:
        b = item[1].binding
        return _ORDER.get((b.key, b.action), len(_ORDER))

    out: dict[str, Any] = {}
    for key, active_binding in sorted(active.items(), key=place):
        b = active_binding.binding
        if narrow and (b.id or "").startswith("minor-"):
            continue
        if narrow and b.id in _SHORT:
            active_binding = active_binding._replace(binding=replace(b, description=_SHORT[b.id]))
        out[key] = active_binding
    return out
