"""Terminal rendering of a prefix-sums instance: input bits, predicted and true parity."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

CHUNK = 64


def _row(label: str, bits: list[int], styles: list[str]) -> Text:
    text = Text(f"{label:<5}", style="bold")
    for bit, style in zip(bits, styles):
        text.append(str(bit), style=style)
    return text


def chunk_for(columns: int | None) -> int:
    """Bits a row holds in ``columns`` (beside the 5-column label): 64, or fewer in a narrow
    room, a multiple of 8 (at least 8) so rows line up in bytes."""
    if columns is None:
        return CHUNK
    return max(8, min(CHUNK, (columns - 5) // 8 * 8))


def render_bits(inputs, prediction=None, target=None, confidence=None,
                fit: tuple[int, int] | None = None) -> Group:
    """Rows of 64 bits (fewer when ``fit`` is narrow): the input, the prediction (wrong bits in
    red) and the truth."""
    x = [int(round(float(v))) for v in inputs.reshape(-1)]
    pred = None if prediction is None else [int(v) for v in prediction.reshape(-1)]
    true = None if target is None else [int(v) for v in target.reshape(-1)]
    conf = None if confidence is None else [float(v) for v in confidence.reshape(-1)]
    lines: list[Text] = []
    chunk = chunk_for(None if fit is None else fit[0])
    for lo in range(0, len(x), chunk):
        hi = min(lo + chunk, len(x))
        if len(x) > chunk:
            lines.append(Text(f"bits {lo + 1}-{hi}", style="dim"))
        lines.append(_row("in", x[lo:hi], ["cyan"] * (hi - lo)))
        if pred is not None:
            styles = []
            for j in range(lo, hi):
                wrong = true is not None and pred[j] != true[j]
                style = "bold white on red" if wrong else "green"
                if conf is not None and conf[j] < 0.75 and not wrong:
                    style = "yellow"
                styles.append(style)
            lines.append(_row("pred", pred[lo:hi], styles))
        if true is not None:
            lines.append(_row("true", true[lo:hi], ["white"] * (hi - lo)))
    return Group(*lines)
