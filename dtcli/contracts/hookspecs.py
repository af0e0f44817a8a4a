"""The plugin contract: the hooks a dt plugin may implement.

Hooks are callback style: dt passes a ``register`` function (or the Typer app) and the plugin
calls it. Hook modules must be cheap to import: no torch at module level.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

PROJECT = "dtcli"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class DtSpecs:
    """Hook specifications for dt plugins."""

    @hookspec
    def register_problems(self, register: Callable[[type], None]) -> None:
        """Register problems: call ``register(ProblemSubclass)`` once per problem."""

    @hookspec
    def register_architectures(self, register: Callable[[Any], None]) -> None:
        """Register architectures: call ``register(architecture_instance)`` once per architecture."""

    @hookspec
    def register_commands(self, app: Any) -> None:
        """Add commands to the ``dt`` Typer app (``@app.command()``)."""

    @hookspec
    def register_trackers(self, register: Callable[[str, Callable[..., Any]], None]) -> None:
        """Register where training events can also go: ``register(name, factory, check=None)``,
        with ``factory(run_dir, config)`` returning a :class:`dtcli.api.Listener` (its ``on_end``
        and ``on_exception`` close it) and the optional ``check()`` raising a
        :class:`dtcli.api.DtError` when the tracker cannot run (a missing package), called
        before a run starts and by ``--dry-run``. ``dt train --track NAME`` turns it on."""
