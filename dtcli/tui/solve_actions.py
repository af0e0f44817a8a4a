"""The solve view's playback and keys (a mixin of :class:`~dtcli.tui.solve_screen.SolveScreen`).

Actions only set the view's reactive attributes; its watchers redraw. A key that needs the
model or the instance (play, step, new instance, bigger, smaller) pressed while the model is
loading or a fresh instance is being drawn is kept and applied, in order, once the instance
is there: nothing typed during loading is lost.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dtcli.tui.workers import step_difficulty


class SolveActions:
    """Playback and the keys of the solve view; ``self`` is the SolveScreen."""

    # -- keys pressed before the view can act ----------------------------------------------

    def able(self, action: str, *args: Any) -> bool:
        """Whether the view can act on a key now; if not (a model loading, an instance being
        drawn), the key is kept for :meth:`replay_pending`. Benchmark runs take no keys."""
        if self.options.benchmark:
            return False
        if self.loading_ref is None and self.instance is not None and self.buffer is not None:
            return True
        self.pending_keys.append((action, args))
        return False

    def replay_pending(self) -> None:
        """Apply the kept keys in order (one that opens a new instance keeps the rest for
        that instance)."""
        while self.pending_keys and self.loading_ref is None and self.instance is not None:
            action, args = self.pending_keys.pop(0)
            getattr(self, f"action_{action}")(*args)

    # -- playback --------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self.playing or self.buffer is None or self.instance is None:
            return
        nxt = self.cursor + 1
        if nxt >= self.limit:
            self.playing = False
            self.note = (f"thought for {self.limit} iterations: space thinks longer"
                         if self.model.recurrent else
                         "a feed-forward net cannot think longer than its depth")
        elif nxt < self.buffer.count:
            self.waiting = False
            self.goto(nxt)
        elif self.buffer.finished:
            self.playing = False
        else:
            self.waiting = True

    def goto(self, index: int, now: bool = False) -> None:
        """Move the cursor (the watcher draws the frame); ``now``: the curves at once too."""
        if self.buffer is None:
            return
        self.cursor = self.buffer.move(index)
        if now:
            self.update_curves(now=True)

    def at_end(self) -> bool:
        """The playback has reached its end: the limit, or a feed-forward net's last frame."""
        buffer = self.buffer
        if buffer is None or self.current_frame is None:
            return False
        return (self.cursor + 1 >= self.limit
                or (buffer.finished and self.cursor + 1 >= buffer.count))

    # -- actions ---------------------------------------------------------------------------

    def action_toggle_play(self) -> None:
        if not self.able("toggle_play"):
            return
        if self.playing:
            self.playing = False
            return
        if self.cursor + 1 >= self.limit:
            if self.model.recurrent:
                self.limit += self.base_limit
            else:
                self.goto(-1)  # a feed-forward net: play it again from the start
        elif self.buffer.finished and self.cursor + 1 >= self.buffer.count:
            self.goto(-1)
        self.note = ""
        self.playing = True

    def action_step(self, delta: int) -> None:
        if not self.able("step", delta):
            return
        self.playing = False
        target = self.cursor + self.pending_steps + delta  # steps not yet shown count too
        if delta < 0:
            self.pending_steps = 0
            self.goto(max(target, -1), now=True)
            return
        if target >= self.limit:
            if not self.model.recurrent:
                self.app.bell()
                return
            self.limit = target + 1
        if target < self.buffer.count:
            self.goto(target, now=True)
        elif self.buffer.finished:
            self.app.bell()
        else:
            self.pending_steps = target - self.cursor

    def action_speed(self, delta: int) -> None:
        self.speed_index += delta

    def action_new_instance(self) -> None:
        if not self.able("new_instance"):
            return
        self.seed += 1
        self.new_session()

    def action_difficulty(self, direction: int) -> None:
        if not self.able("difficulty", direction):
            return
        showing = self.showing
        problem = showing.model.loaded.problem
        nxt = step_difficulty(problem, showing.difficulty, direction)
        if nxt is None:
            self.notify(f"no {'bigger' if direction > 0 else 'smaller'} "
                        f"{problem.difficulty_unit} to step to from {showing.difficulty}",
                        severity="warning")
            return
        self.showing = replace(showing, difficulty=nxt)
        self.new_session()

    def action_toggle_answer(self) -> None:
        self.show_answer = not self.show_answer

    def action_choose_model(self) -> None:
        from dtcli.tui.model_picker import ModelPicker

        def chosen(ref: str | None) -> None:
            if ref:
                self.start_loading(ref, initial=False)

        current = self.model.ref if self.model is not None else self.options.model
        self.app.push_screen(ModelPicker(self.options.runs_root, current=current), chosen)
