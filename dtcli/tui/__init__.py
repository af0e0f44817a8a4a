"""dt's terminal UI (Textual): watch a model think, extrapolate, train.

Start it with ``dt tui [MODEL]`` or ``DtApp(model).run()``; ``dtcli.tui.app`` imports Textual,
so nothing imports this package at ``dt`` start-up.
"""
