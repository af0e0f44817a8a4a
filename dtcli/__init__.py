"""dt: train, extrapolate and watch deep thinking networks from the terminal."""

__version__ = "0.1.0"
