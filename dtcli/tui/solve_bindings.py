"""The solve view's keys and play speeds."""

from __future__ import annotations

from textual.binding import Binding

SPEEDS = (1, 2, 5, 10, 20, 30, 60)  # iterations shown per second
DEFAULT_SPEED = SPEEDS.index(20)
STEP = Binding.Group("step", compact=True)
SPEED = Binding.Group("speed", compact=True)
SIZE = Binding.Group("size", compact=True)

SOLVE_BINDINGS = [  # help and quit first: an 80-column footer shows the first bindings
    Binding("question_mark", "app.help", "help", key_display="?"),
    Binding("q", "app.quit", "quit"),
    Binding("space", "toggle_play", "play/pause", key_display="space", priority=True),
    Binding("left", "step(-1)", "back", key_display="←", group=STEP, priority=True),
    Binding("right", "step(1)", "step", key_display="→", group=STEP, priority=True),
    Binding("minus", "speed(-1)", "slower", key_display="-", group=SPEED),
    Binding("plus", "speed(1)", "faster", key_display="+", group=SPEED),
    Binding("equals_sign", "speed(1)", "faster", show=False),
    Binding("n", "new_instance", "new"),
    Binding("left_square_bracket", "difficulty(-1)", "smaller", key_display="[", group=SIZE),
    Binding("right_square_bracket", "difficulty(1)", "bigger", key_display="]", group=SIZE),
    Binding("a", "toggle_answer", "answer"),
    Binding("m", "choose_model", "model"),
    Binding("e", "app.extrapolation", "extrapolate"),
    Binding("t", "app.training", "train"),
]

