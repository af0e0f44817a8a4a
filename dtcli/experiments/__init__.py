"""The experiments wing, above the engine: studies that train and measure many runs.

- :mod:`~dtcli.experiments.recipe` — the settings `dt train` would use (the preset chosen for
  this device, then files and flags);
- :mod:`~dtcli.experiments.runner` — the one run loop every study shares: plan, skip finished
  runs, resume half-done ones, rewrite results after each run;
- :mod:`~dtcli.experiments.stats` — mean ± standard error, the success rule, CSV;
- :mod:`~dtcli.experiments.depth` — recurrent vs feed-forward at equal effective depth;
- :mod:`~dtcli.experiments.seeds` — how often a recipe succeeds over seeds;
- :mod:`~dtcli.experiments.compare` — several models' curves side by side;
- :mod:`~dtcli.experiments.zoo_card` — measure a zoo card and re-check it.

No CLI here: events go to a :class:`~dtcli.experiments.runner.StudyListener`.
"""
