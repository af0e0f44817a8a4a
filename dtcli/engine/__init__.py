"""The train / extrapolate / solve engine. It knows nothing of the CLI or the TUI."""
