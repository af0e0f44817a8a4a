"""Built-in plugin: training events as TensorBoard event files (``dt train --tensorboard``).

Written exactly as a third-party tracker would be: a ``register_trackers`` hook whose factory
returns a :class:`dtcli.api.Listener`. TensorBoard itself is an optional extra
(``pip install 'dt-thinking[tensorboard]'``); it is imported only when a run asks for it.
"""

from __future__ import annotations

import importlib.util

from dtcli.api import DtError, hookimpl


def check_installed() -> None:
    """What a run asking for TensorBoard needs, checked before it starts (``--dry-run`` too)."""
    if importlib.util.find_spec("tensorboard") is None:
        raise DtError("--tensorboard needs the tensorboard package: "
                      "pip install 'dt-thinking[tensorboard]' (or pip install tensorboard)")


@hookimpl
def register_trackers(register):
    from dt_tensorboard.tracker import tensorboard_tracker

    register("tensorboard", tensorboard_tracker, check=check_installed)
