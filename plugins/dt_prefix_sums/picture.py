"""A prefix-sums instance as a picture: rows of bits (input, prediction, truth) as cells.

A 1 is a dark cell, a 0 a light one, with the digit written in it while cells are big enough
to read. Prediction cells are green when right, amber when right but unsure (confidence below
0.75, as in the terminal) and red when wrong.
"""

from __future__ import annotations

import numpy as np

ROW_BITS = 32  # bits per row of the picture
CELL, GAP, BLOCK_GAP = 14, 1, 8  # pixels: a bit, between bits, between blocks of rows
MIN_CELL, DIGIT_CELL = 2, 10  # smallest cell; smallest cell with its digit written
BACKGROUND = (255, 255, 255)
# (light for 0, dark for 1) per kind of cell
PLAIN = ((222, 222, 222), (40, 40, 40))
RIGHT = ((190, 230, 190), (30, 130, 50))
UNSURE = ((250, 225, 160), (200, 140, 0))
WRONG = ((250, 170, 170), (200, 30, 30))
LABELS = ("in", "pred", "true")


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def bits_image(inputs, prediction=None, target=None, confidence=None,
               fit: tuple[int, int] | None = None) -> np.ndarray:
    """RGB ``(H, W, 3)`` uint8: for each block of 32 bits a row of input bits, then the
    prediction and the truth (when given); cells shrink to fit ``fit = (width, height)``."""
    from PIL import Image, ImageDraw

    x = np.rint(np.asarray(inputs, dtype=np.float64).reshape(-1)).astype(int)
    pred = None if prediction is None else np.asarray(prediction).reshape(-1).astype(int)
    true = None if target is None else np.asarray(target).reshape(-1).astype(int)
    conf = None if confidence is None else np.asarray(confidence, dtype=np.float64).reshape(-1)
    rows = [("in", x, None)]
    if pred is not None:
        rows.append(("pred", pred, "pred"))
    if true is not None:
        rows.append(("true", true, None))
    n = len(x)
    per_row = min(ROW_BITS, n)
    blocks = -(-n // per_row)
    label_w = 34
    cell = CELL
    if fit is not None:  # largest cell that fits, then drop the gaps if even that is too big
        room_w = (fit[0] - label_w) // per_row - GAP
        room_h = (fit[1] - blocks * BLOCK_GAP) // (blocks * len(rows)) - GAP
        cell = max(MIN_CELL, min(CELL, room_w, room_h))
    gap = GAP if cell >= 4 else 0
    step = cell + gap
    width = label_w + per_row * step
    height = blocks * (len(rows) * step + BLOCK_GAP) - BLOCK_GAP
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    label_font = _font(11)
    digit_font = _font(max(8, cell - 3)) if cell >= DIGIT_CELL else None
    for b in range(blocks):
        top = b * (len(rows) * step + BLOCK_GAP)
        for r, (label, bits, kind) in enumerate(rows):
            y0 = top + r * step
            if step >= DIGIT_CELL:  # smaller rows have no room for a label
                draw.text((2, y0 + step / 2), label, fill=(60, 60, 60), font=label_font,
                          anchor="lm")
            for j in range(per_row):
                k = b * per_row + j
                if k >= n:
                    break
                bit = int(bits[k])
                palette = PLAIN
                if kind == "pred":
                    palette = RIGHT
                    if true is not None and bit != true[k]:
                        palette = WRONG
                    elif conf is not None and conf[k] < 0.75:
                        palette = UNSURE
                x0 = label_w + j * step
                draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=palette[bit & 1])
                if digit_font is not None:
                    ink = (255, 255, 255) if bit else (40, 40, 40)
                    draw.text((x0 + cell / 2, y0 + cell / 2), str(bit), fill=ink,
                              font=digit_font, anchor="mm")
    return np.asarray(img)
