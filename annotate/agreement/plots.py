"""Report figures as base64 PNG strings (matplotlib's object API: no pyplot, no global state)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def heatmap(table: pd.DataFrame, title: str, *, value_format: str = "{:.2f}",
            vmin: float | None = None, vmax: float | None = None, cmap: str = "viridis",
            xlabel: str = "", ylabel: str = "") -> str:
    """A labelled heatmap with the value written in each cell (blank where NaN)."""
    n_rows, n_cols = table.shape
    fig, ax = _figure(max(4.0, 1.0 + 0.8 * n_cols), max(3.0, 1.0 + 0.6 * n_rows))
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")  # NaN: blank
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(n_cols), [str(c) for c in table.columns], rotation=45, ha="right")
    ax.set_yticks(range(n_rows), [str(i) for i in table.index])
    for (r, c), value in np.ndenumerate(values):
        if np.isfinite(value):
            red, green, blue, _ = image.cmap(image.norm(value))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(c, r, value_format.format(value), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(fig)


def bar_chart(table: pd.DataFrame, title: str, *, ylabel: str = "", stacked: bool = False,
              ylim: tuple[float, float] | None = None) -> str:
    """Grouped (or stacked) vertical bars: one group per row, one bar per column."""
    n_rows, n_cols = table.shape
    fig, ax = _figure(max(5.0, 1.5 + 0.5 * n_rows * max(1, n_cols if not stacked else 1)), 3.6)
    x = np.arange(n_rows)
    width = 0.8 if stacked else 0.8 / max(1, n_cols)
    bottom: npt.NDArray[np.float64] = np.zeros(n_rows, dtype=np.float64)
    for j, column in enumerate(table.columns):
        heights = np.nan_to_num(table[column].to_numpy(dtype=np.float64))
        offset = 0.0 if stacked else (j - (n_cols - 1) / 2) * width
        ax.bar(x + offset, heights, width, bottom=bottom if stacked else None, label=str(column))
        if stacked:
            bottom = bottom + heights
    ax.set_xticks(x, [str(i) for i in table.index], rotation=30 if n_rows > 4 else 0,
                  ha="right" if n_rows > 4 else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if n_cols > 1:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    elif not ylabel:
        ax.set_ylabel(str(table.columns[0]))
    return _png(fig)


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(width, 12.0), min(height, 10.0)), layout="constrained")
    return fig, fig.add_subplot()


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
