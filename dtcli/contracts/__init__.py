"""The contracts: what a plugin author reads first.

- :mod:`~dtcli.contracts.problem` — :class:`Problem`, a task with difficulties, data, a loss and
  a view;
- :mod:`~dtcli.contracts.arch` — :class:`Architecture`, a recipe that builds a net for a problem;
- :mod:`~dtcli.contracts.net` — :class:`IterativeNet`, ``answer(think^m(start(x)))``;
- :mod:`~dtcli.contracts.options` — :class:`Option`, a declared ``-o NAME=VALUE`` or
  ``--arch-option``;
- :mod:`~dtcli.contracts.hookspecs` — the pluggy hooks a plugin implements;
- :mod:`~dtcli.contracts.errors` — :class:`DtError`, the one-line user error;
- :mod:`~dtcli.contracts.paths` and :mod:`~dtcli.contracts.datacache` — atomic writes, the data
  directory and the content-keyed cache a problem's generated data goes through.

Nothing here imports anything of dtcli above it; plugins reach all of it through
:mod:`dtcli.api`.
"""
