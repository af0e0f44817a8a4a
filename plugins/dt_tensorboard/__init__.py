"""Built-in plugin: training events as TensorBoard event files (``dt train --tensorboard``).

Written exactly as a third-party tracker would be: a ``register_trackers`` hook whose factory
returns a :class:`dtcli.api.Listener`. TensorBoard itself is an optional extra
(``pip install 'dt-thinking[tensorboard]'``); it is imported only when a run asks for it.
"""

from __future__ import annotations

from dtcli.api import hookimpl


@hookimpl
def register_trackers(register):
    from dt_tensorboard.tracker import tensorboard_tracker

    register("tensorboard", tensorboard_tracker)
