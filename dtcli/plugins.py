"""The plugin manager: built-in plugins by module name, third-party ones by entry point.

Every plugin is loaded and called on its own, so one that fails to import, or whose hook
raises, is recorded (``dt plugins`` shows it) and the rest of dt keeps working. What a plugin
raises while dt loads it is contained, whatever it is (``SystemExit``, ``GeneratorExit``, a
``BaseException`` of its own), and ``os._exit`` is refused while its code runs. Its commands
are added to a Typer of its own and merged into dt's afterwards: it never sees dt's commands
or root callback, so it cannot replace, edit or remove them, nor take ``--debug``.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterator

import pluggy

from dtcli import __version__
from dtcli.contracts.arch import Architecture
from dtcli.contracts.errors import DtError
from dtcli.contracts.hookspecs import PROJECT, DtSpecs
from dtcli.contracts.problem import Problem

BUILTIN_PLUGINS: tuple[str, ...] = ("dt_archs", "dt_prefix_sums", "dt_mazes", "dt_chess",
                                     "dt_images", "dt_tensorboard", "dt_nca", "dt_looped")
ENTRY_POINT_GROUP = "dtcli"
#: comma-separated entry-point names to load; empty means none; unset means all
ALLOW_ENV = "DTCLI_PLUGINS"


@dataclass
class PluginInfo:
    """What ``dt plugins`` reports for one plugin."""

    name: str
    version: str
    source: str
    hooks: list[str] = field(default_factory=list)
    status: str = "loaded"
    errors: list[str] = field(default_factory=list)

    def fail(self, stage: str, exc: BaseException | str) -> None:
        """Record a failure (every one is kept: ``dt plugins`` lists them all)."""
        self.status = "failed"
        text = exc if isinstance(exc, str) else ": ".join(
            part for part in (type(exc).__name__, str(exc)) if part)
        self.errors.append(f"{stage}: {text}")

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) or None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source,
                "hooks": self.hooks, "status": self.status, "error": self.error,
                "errors": list(self.errors)}


#: what a plugin may raise while dt loads it that dt contains: anything, exiting, Ctrl-C,
#: GeneratorExit and a plugin's own BaseException subclasses included
CONTAINED = (BaseException,)


class PluginExit(BaseException):
    """A plugin called ``os._exit`` while dt loaded it: refused (it would end dt silently,
    with a status of the plugin's choosing), and the plugin reported."""


@contextmanager
def plugin_code() -> Iterator[None]:
    """While a plugin's import or hook runs, ``os._exit`` raises :class:`PluginExit` instead of
    ending the process: otherwise ``os._exit(0)`` at import makes every dt command exit 0
    without a word. (A plugin that kills its own process with a signal cannot be stopped from
    inside it.)"""
    low = sys.modules.get(os.name)  # posix / nt: os._exit is its _exit
    real = os._exit

    def refuse(code: int = 0) -> None:
        raise PluginExit(f"called os._exit({code}) while dt loaded it; dt refused to exit")

    os._exit = refuse  # type: ignore[assignment]
    if low is not None and getattr(low, "_exit", None) is real:
        low._exit = refuse
    try:
        yield
    finally:
        os._exit = real
        if low is not None and getattr(low, "_exit", None) is refuse:
            low._exit = real


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Registry:
    """All loaded plugins, problems and architectures."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(DtSpecs)
        self.plugins: list[PluginInfo] = []
        self.problems: dict[str, type[Problem]] = {}
        self.archs: dict[str, Architecture] = {}
        self.trackers: dict[str, Callable[..., Any]] = {}
        self.tracker_checks: dict[str, Callable[[], Any]] = {}
        self.origin: dict[str, str] = {}  # "problem:NAME" / "arch:NAME" -> plugin name

    # -- loading ---------------------------------------------------------------------------

    def add_plugin(self, module: Any, info: PluginInfo) -> None:
        try:
            with plugin_code():
                self.pm.register(module, name=info.name)
                info.hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        except CONTAINED as exc:  # noqa: BLE001 - a bad plugin is reported, never fatal
            info.fail("register", exc)
        self.plugins.append(info)

    def call_registrations(self) -> None:
        self._call_each("register_problems", "register", self._register_problem)
        self._call_each("register_architectures", "register", self._register_arch)
        self._call_each("register_trackers", "register", self._register_tracker)

    def _call_each(self, hook: str, argname: str, register: Callable[[str, Any], None]) -> None:
        infos = {p.name: p for p in self.plugins}
        for impl in getattr(self.pm.hook, hook).get_hookimpls():  # registration order
            info = infos[impl.plugin_name]
            try:
                with plugin_code():
                    impl.function(**{argname: lambda *obj, _p=impl.plugin_name, **kw:
                                     register(_p, *obj, **kw)})
            except CONTAINED as exc:  # noqa: BLE001 - whatever it raises, the plugin is reported
                info.fail(hook, exc)

    def add_commands(self, app: Any) -> None:
        """Let every plugin add its commands to dt's Typer ``app``, through a Typer of its own:
        the plugin sees none of dt's commands nor its root callback, so it cannot edit or
        remove them. Its commands are then merged in; one whose name is taken (a built-in
        one, or an earlier plugin's) is refused and reported, and so is a root callback
        (``app.callback``: it would run before every command and could take ``--debug`` and
        ``--version``). A plugin that fails is recorded; what it added before is kept."""
        import typer
        from typer.models import CommandInfo

        infos = {p.name: p for p in self.plugins}
        taken = set(_command_names(app))
        for impl in self.pm.hook.register_commands.get_hookimpls():
            info = infos[impl.plugin_name]
            own = typer.Typer()
            try:
                with plugin_code():
                    impl.function(app=own)
            except CONTAINED as exc:  # noqa: BLE001 - whatever it raises, the plugin is reported
                info.fail("register_commands", exc)
            if own.registered_callback is not None:
                info.fail("register_commands", "it set a root callback (app.callback), which "
                          "would run before every dt command; ignored: a plugin adds commands "
                          "only")
            for entry in [*own.registered_commands, *own.registered_groups]:
                name = _entry_name(entry)
                if not name or name in taken:
                    info.fail("register_commands", f"command {name!r} is taken (built in or by "
                              "an earlier plugin); a plugin cannot replace it" if name else
                              "a command without a name")
                    continue
                entry = copy.copy(entry)  # its name fixed now: later edits do not reach dt's
                entry.name = name
                (app.registered_commands if isinstance(entry, CommandInfo)
                 else app.registered_groups).append(entry)
                taken.add(name)

    def _register_problem(self, plugin: str, cls: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Problem) and cls.name):
            raise TypeError(f"register() expects a Problem subclass with a name, got {cls!r}")
        if cls.name in self.problems:
            raise ValueError(f"problem {cls.name!r} is already registered by "
                             f"{self.origin['problem:' + cls.name]}")
        self.problems[cls.name] = cls
        self.origin["problem:" + cls.name] = plugin

    def _register_tracker(self, plugin: str, name: Any, factory: Any = None,
                          check: Any = None) -> None:
        """``register(name, factory, check=None)``: ``check()``, when given, says without
        side effects whether the tracker can start here (its package is installed...) and
        raises :class:`DtError` if not; ``dt train --dry-run`` calls it."""
        if not (isinstance(name, str) and name and callable(factory)):
            raise TypeError(f"register() expects a tracker name and a factory, got {name!r}")
        if check is not None and not callable(check):
            raise TypeError(f"register(): check of tracker {name!r} is not callable")
        if name in self.trackers:
            raise ValueError(f"tracker {name!r} is already registered by "
                             f"{self.origin['tracker:' + name]}")
        self.trackers[name] = factory
        if check is not None:
            self.tracker_checks[name] = check
        self.origin["tracker:" + name] = plugin

    def _known_tracker(self, name: str) -> None:
        if name not in self.trackers:
            raise DtError(f"unknown tracker {name!r}{did_you_mean(name, list(self.trackers))}; "
                          f"trackers: {', '.join(sorted(self.trackers)) or 'none'}")

    def check_trackers(self, names: list[str]) -> None:
        """What :meth:`tracker` would refuse for a run, refused without starting anything
        (``dt train --dry-run``): an unknown name, or a tracker whose check says it cannot
        start here (e.g. TensorBoard without its package)."""
        for name in names:
            self._known_tracker(name)
            check = self.tracker_checks.get(name)
            if check is not None:
                contained(check, f"tracker {name!r} (plugin {self.origin['tracker:' + name]}) "
                                 "cannot start")

    def tracker(self, name: str, run_dir: Any, config: Any) -> Any:
        """A tracker listener for a run (one clear line when unknown or failing to start)."""
        self._known_tracker(name)
        return contained(lambda: self.trackers[name](run_dir, config),
                         f"tracker {name!r} (plugin {self.origin['tracker:' + name]}) failed to "
                         "start")

    def _register_arch(self, plugin: str, arch: Any) -> None:
        if not (isinstance(arch, Architecture) and arch.name):
            raise TypeError(f"register() expects an Architecture instance with a name, got {arch!r}")
        if arch.name in self.archs:
            raise ValueError(f"architecture {arch.name!r} is already registered by "
                             f"{self.origin['arch:' + arch.name]}")
        self.archs[arch.name] = arch
        self.origin["arch:" + arch.name] = plugin

    # -- look-ups --------------------------------------------------------------------------

    def problem_class(self, name: str) -> type[Problem]:
        if name not in self.problems:
            raise DtError(f"unknown problem {name!r}{did_you_mean(name, list(self.problems))}; "
                          f"`dt list problems` shows them")
        return self.problems[name]

    def problem(self, name: str, options: dict[str, Any] | None = None) -> Problem:
        cls = self.problem_class(name)
        return contained(lambda: cls(**(options or {})),
                         f"problem {name!r} (plugin {self.origin.get('problem:' + name, '?')}) "
                         "failed to start")

    def reopen(self, problem: Problem, changes: dict[str, Any]) -> Problem:
        """``problem`` again with some options changed (``-o`` on a trained model's problem),
        checked as :meth:`problem` checks them."""
        if not changes:
            return problem
        return self.problem(problem.name, {**problem.option_values, **changes})

    def arch(self, name: str) -> Architecture:
        if name not in self.archs:
            raise DtError(f"unknown architecture {name!r}{did_you_mean(name, list(self.archs))}; "
                          f"`dt list archs` shows them")
        return self.archs[name]


def contained(call: Callable[[], Any], what: str) -> Any:
    """``call()``, a plugin's code: a DtError passes, Ctrl-C still stops dt, anything else it
    raises (a bug, GeneratorExit, its own BaseException) becomes one line, ``what: Type: text``."""
    try:
        return call()
    except (DtError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - whatever a plugin raises, named in one line
        raise DtError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _entry_name(entry: Any) -> str:
    """The command name of a Typer CommandInfo / TyperInfo (as Typer derives it)."""
    if getattr(entry, "name", None):
        return entry.name
    callback = getattr(entry, "callback", None) or getattr(getattr(entry, "typer_instance", None),
                                                            "registered_callback", None)
    return getattr(callback, "__name__", "").replace("_", "-").strip("-")


def _command_names(app: Any) -> list[str]:
    return [_entry_name(e) for e in (*app.registered_commands, *app.registered_groups)]


def _allowed_entry_points() -> set[str] | None:
    raw = os.environ.get(ALLOW_ENV)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


def load_registry(builtins: tuple[str, ...] = BUILTIN_PLUGINS) -> Registry:
    """Load built-in plugins, then allowed entry-point plugins, and run their registrations."""
    reg = Registry()
    for modname in builtins:
        info = PluginInfo(modname, __version__, "built-in")
        try:
            with plugin_code():
                module = importlib.import_module(modname)
        except CONTAINED as exc:  # noqa: BLE001 - a broken built-in is reported like any plugin
            info.fail("import", exc)
            reg.plugins.append(info)
            continue
        reg.add_plugin(module, info)

    allowed = _allowed_entry_points()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, dist.version if dist else "?",
                          f"distribution {dist.name}" if dist else "entry point")
        try:
            with plugin_code():
                module = ep.load()
        except CONTAINED as exc:  # noqa: BLE001 - SystemExit, GeneratorExit...: dt --help must still answer
            info.fail("import", exc)
            reg.plugins.append(info)
            continue
        reg.add_plugin(module, info)

    reg.call_registrations()
    return reg


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the loaded registry (tests, or after installing a plugin)."""
    global _REGISTRY
    _REGISTRY = None
