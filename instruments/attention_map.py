"""--attention FILE.svg: a picture of where attention goes, and a summary in the terminal.

One heat map per block: row i is position i, column j is an earlier position j, and the colour is
how much of position i's attention went to j, averaged over the block's heads (one map per head
would make n_layer * n_head pictures; the average shows where a block as a whole looks). Each row
sums to 1; the cells above the diagonal are the future, which the causal mask hides, drawn grey.
Plain SVG, written without a plotting library; any browser opens it.
"""
from xml.sax.saxutils import escape

import numpy as np

from plumbing.files import WRITTEN_BY, write_text

CELL = 16  # pixels per attention weight
LABEL = 110  # room for the token labels
COLUMNS = 3  # blocks side by side
MAX_CELLS = 50_000  # drawn in all, about 6 MB of SVG: a longer prompt is drawn for its last positions only


def colour(weight):
    """0 -> white, 1 -> dark blue, linearly."""
    r, g, b = (round(255 + (t - 255) * weight) for t in (8, 48, 107))
    return f"rgb({r},{g},{b})"


def panel(weights, labels, title, x0, y0):
    """The SVG elements of one block's [n_seq, n_seq] map, its top-left corner at (x0, y0)."""
    n = len(labels)
    parts = [f'<text x="{x0 + LABEL}" y="{y0 - LABEL - 8}" font-weight="bold">{escape(title)}</text>']
    for i, label in enumerate(labels):
        cy, cx = y0 + i * CELL + CELL * 0.75, x0 + LABEL + i * CELL + CELL * 0.75
        parts.append(f'<text x="{x0 + LABEL - 4}" y="{cy:.1f}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{y0 - 4}" transform="rotate(-60 {cx:.1f} {y0 - 4})">{escape(label)}</text>')
        for j in range(n):
            fill = colour(weights[i, j]) if j <= i else "#e6e6e6"
            tip = f"{label} -> {labels[j]}: {weights[i, j]:.3f}" if j <= i else "masked: the future"
            parts.append(f'<rect x="{x0 + LABEL + j * CELL}" y="{y0 + i * CELL}" width="{CELL}" height="{CELL}" '
                         f'fill="{fill}"><title>{escape(tip)}</title></rect>')
    return parts


def shown_positions(n_seq, n_layer):
    """How many of the last positions are drawn: all of them unless the picture would be too large."""
    return min(n_seq, int((MAX_CELLS / n_layer) ** 0.5))


def svg(attention, labels, title):
    """The whole picture: attention is n_layer arrays [n_head, n_seq, n_seq]."""
    n = shown_positions(len(labels), len(attention))
    if n < len(labels):  # the last n positions, attending to the last n: a part of each map
        title += f" (the last {n} of {len(labels)} positions only)"
        attention, labels = [w[:, -n:, -n:] for w in attention], labels[-n:]
    width, height = LABEL * 2 + n * CELL + 20, LABEL + 30 + n * CELL + 20  # one panel with its labels
    rows = -(-len(attention) // COLUMNS)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{COLUMNS * width}" height="{rows * height + 80}" '
             f'font-family="monospace" font-size="11" {WRITTEN_BY["--attention"]}>',
             f'<text x="10" y="20" font-size="14">{escape(title)}</text>',
             '<text x="10" y="38">row: a position; column: a position it attends to; colour: weight, '
             'averaged over heads (white 0, blue 1); grey: masked future</text>']
    for n_block, weights in enumerate(attention):
        x0, y0 = (n_block % COLUMNS) * width, 60 + (n_block // COLUMNS) * height + LABEL + 30
        parts += panel(weights.mean(axis=0), labels, f"block {n_block}", x0, y0)
    return "\n".join(parts + ["</svg>\n"])


def write_svg(path, attention, labels, title):
    """Written whole or not at all; returns a note if only the last positions could be drawn."""
    write_text(path, svg(attention, labels, title), "--attention")
    n = shown_positions(len(labels), len(attention))
    if n < len(labels):
        return f"note: {path} shows the last {n} of the {len(labels)} positions only, so that it stays small enough to open"
    return None


def summary(attention, labels, k=3):
    """For the last position: per block, the k positions it attends to most (averaged over heads)."""
    lines = [f"attention of the last token {labels[-1]} (averaged over heads): the {k} positions it reads most"]
    for n_block, weights in enumerate(attention):
        row = weights[:, -1].mean(axis=0)  # [n_seq]: the last position's row, per head, averaged
        best = np.argsort(-row, kind="stable")[:k]
        lines.append(f"  block {n_block:>2}: " + "  ".join(f"{labels[j]} (#{j}) {row[j]:.0%}" for j in best))
    return lines
