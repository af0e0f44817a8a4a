"""Small terminals: below ``NARROW`` columns (``SHORT`` lines) the app takes the -narrow
(-short) class that the stylesheet lays screens out by, and form screens compact their
controls; below ``CURVES_BELOW`` lines the solve view puts its curves under the instance."""

from __future__ import annotations

from typing import Any

NARROW, SHORT, CURVES_BELOW = 100, 32, 40


def compact_forms(screen: Any, height: int) -> None:
    """On short terminals the form controls drop their borders (one line each instead of
    three), so that the curves below keep enough rows to be read."""
    short = height < SHORT
    for widget in screen.query(".form Input, .form Select, .form Button"):
        widget.compact = short
