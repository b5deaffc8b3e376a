"""Figures of the training and backtest report, drawn to PNG bytes.

Drawing only: every input is already computed (equity series, counts, reliability bins, model
gains); nothing here fits, evaluates or simulates. Figures are built on
:class:`matplotlib.figure.Figure` with the Agg canvas directly, never through ``pyplot``, so
there is no global figure state and no display is needed (headless servers, threads).

Colours are fixed for the whole report: rules-only is slate blue, ML-filtered is orange.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

RULES_COLOR: Final = "#4a6d8c"
ML_COLOR: Final = "#e8833a"
MODE_COLORS: Final[dict[str, str]] = {"rules": RULES_COLOR, "ml": ML_COLOR}
MODE_LABELS: Final[dict[str, str]] = {"rules": "rules only", "ml": "ML-filtered"}
GRID_COLOR: Final = "#e3e6ea"
TEXT_COLOR: Final = "#2b2f36"
DPI: Final = 110

EXIT_REASON_ORDER: Final[tuple[str, ...]] = (
    "TAKE_PROFIT", "STOP_LOSS", "TRAILING_STOP", "TIME_LIMIT", "NOT_FILLED", "OPEN_AT_END",
)
"""Bar order of exit reasons (the label replay's names); unknown reasons follow, sorted."""

_STYLE: Final[dict[str, Any]] = {
    "font.size": 9.5,
    "axes.edgecolor": "#b8bec6",
    "axes.labelcolor": TEXT_COLOR,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "xtick.color": "#555b63",
    "ytick.color": "#555b63",
    "legend.frameon": False,
}


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # no timestamp metadata: the same inputs give the same bytes
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def _style(ax: Axes) -> None:
    ax.grid(True, color=GRID_COLOR, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _utc_dates(ax: Axes, span_s: int) -> None:
    """ISO date ticks: ``YYYY-MM`` over long spans, ``YYYY-MM-DD`` (fewer ticks) below 90 days."""
    if span_s > 90 * 86_400:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
        fmt = "%Y-%m"
    else:
        locator = mdates.AutoDateLocator(minticks=2, maxticks=3)
        fmt = "%Y-%m-%d"
        ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))


def _times(timestamp_s: pd.Series | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """UTC seconds -> naive UTC datetime64 (Matplotlib's date axis; labels say UTC)."""
    return np.asarray(timestamp_s, dtype="int64").astype("datetime64[s]")


def equity_figure(
    title: str,
    panels: Sequence[tuple[str, Mapping[str, pd.DataFrame]]],
    quote: str,
) -> bytes:
    """Equity (top) and drawdown from the running peak (bottom), one column per slice.

    Args:
        title: figure title (the scope: a strategy or "combined").
        panels: ``(slice title, {mode: equity frame})`` per column; an equity frame has
            ``timestamp`` (UTC s) and ``equity_quote``; modes are ``"rules"`` / ``"ml"``.
            Column widths follow each slice's time span (at least a third of the longest).
        quote: quote currency for the axis label.

    Returns:
        PNG bytes.
    """
    spans = [max(_span_s(curves), 1) for _, curves in panels] or [1]
    widths = [max(s, max(spans) / 3) for s in spans]
    with _rc():
        fig = _new_figure(11.0, 4.6)
        fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold", color=TEXT_COLOR)
        handles = [Line2D([], [], color=MODE_COLORS[m], linewidth=2, label=MODE_LABELS[m])
                   for m in ("rules", "ml")]
        fig.legend(handles=handles, loc="outside upper right", ncols=2)
        grid = fig.add_gridspec(2, max(len(panels), 1), height_ratios=(2.2, 1), width_ratios=widths)
        for col, (slice_title, curves) in enumerate(panels):
            ax_eq = fig.add_subplot(grid[0, col])
            ax_dd = fig.add_subplot(grid[1, col], sharex=ax_eq)
            for mode in ("rules", "ml"):
                frame = curves.get(mode)
                if frame is None or frame.empty:
                    continue
                t = _times(frame["timestamp"])
                eq = frame["equity_quote"].to_numpy(dtype="float64")
                color = MODE_COLORS[mode]
                ax_eq.plot(t, eq, color=color, linewidth=1.6, label=MODE_LABELS[mode])
                peak = np.maximum.accumulate(eq)
                dd_pct = np.where(peak > 0, eq / peak - 1.0, 0.0) * 100.0
                if mode == "rules":  # one fill only: two overlapping fills turn muddy
                    ax_dd.fill_between(t, dd_pct, 0.0, color=color, alpha=0.18, linewidth=0)
                ax_dd.plot(t, dd_pct, color=color, linewidth=1.1)
            ax_eq.set_title(slice_title, loc="left")
            ax_eq.tick_params(labelbottom=False)
            if col == 0:
                ax_eq.set_ylabel(f"equity ({quote})")
                ax_dd.set_ylabel("drawdown (%)")
            ax_dd.set_xlabel("UTC")
            for ax in (ax_eq, ax_dd):
                _style(ax)
            _utc_dates(ax_dd, _span_s(curves))
            if not curves:
                ax_eq.text(0.5, 0.5, "no equity data", ha="center", va="center",
                           transform=ax_eq.transAxes, color="#888")
        return _png(fig)


def _span_s(curves: Mapping[str, pd.DataFrame]) -> int:
    spans = [int(f["timestamp"].max() - f["timestamp"].min()) for f in curves.values()
             if not f.empty]
    return max(spans, default=0)


def exit_reason_figure(
    rows: Sequence[str],
    cols: Sequence[str],
    counts: Mapping[tuple[str, str], Mapping[str, Mapping[str, int]]],
) -> bytes:
    """Grouped bars of trade counts by exit reason, rules-only beside ML-filtered.

    Args:
        rows: row titles (slices, e.g. out-of-sample / quarantine).
        cols: column titles (scopes: strategies, combined).
        counts: ``{(row, col): {mode: {exit reason: trades}}}``; missing cells stay empty.

    Returns:
        PNG bytes.
    """
    reasons = _reason_order(counts)
    with _rc():
        fig = _new_figure(11.0, 2.6 * len(rows) + 0.6)
        fig.legend(handles=[Patch(color=MODE_COLORS[m], label=MODE_LABELS[m])
                            for m in ("rules", "ml")], loc="outside upper right", ncols=2)
        axes = fig.subplots(len(rows), len(cols), squeeze=False)
        x = np.arange(len(reasons))
        for r, row in enumerate(rows):
            for c, col in enumerate(cols):
                ax = axes[r][c]
                cell = counts.get((row, col), {})
                for k, mode in enumerate(("rules", "ml")):
                    values = [int(cell.get(mode, {}).get(reason, 0)) for reason in reasons]
                    bars = ax.bar(x + (k - 0.5) * 0.38, values, width=0.38,
                                  color=MODE_COLORS[mode])
                    ax.bar_label(bars, labels=[str(v) if v else "" for v in values],
                                 fontsize=7.5, padding=1, color=TEXT_COLOR)
                ax.set_xticks(x, [_reason_label(reason) for reason in reasons], fontsize=8)
                ax.set_title(f"{col} · {row}", loc="left", fontsize=9.5)
                ax.margins(y=0.18)
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
                _style(ax)
                ax.grid(axis="x", visible=False)
                if c == 0:
                    ax.set_ylabel("trades")
        return _png(fig)


def _reason_order(counts: Mapping[tuple[str, str], Mapping[str, Mapping[str, int]]]) -> list[str]:
    seen = {reason for cell in counts.values() for by_mode in cell.values() for reason in by_mode}
    known = [r for r in EXIT_REASON_ORDER if r in seen]
    return known + sorted(seen - set(known))


def _reason_label(reason: str) -> str:
    return reason.replace("_", " ").lower()


def reliability_figure(
    title: str,
    bins: Sequence[tuple[float, float, int]],
    threshold: float,
    quarantine_bins: Sequence[tuple[float, float, int]] = (),
) -> bytes:
    """Reliability diagram: observed win rate against mean predicted confidence per bin, with
    the number of setups in each bin (annotated on the points and as bars below).

    Args:
        title: figure title (the strategy).
        bins: out-of-fold ``(mean confidence, win rate, count)`` per non-empty bin, as
            :func:`training.evaluation.metrics.reliability_curve` returns them.
        threshold: the calibrated confidence at the decision rule's cut (dotted vertical line).
        quarantine_bins: the same for the quarantine rows, drawn hollow; optional.

    Returns:
        PNG bytes.
    """
    with _rc():
        fig = _new_figure(5.4, 5.0)
        grid = fig.add_gridspec(2, 1, height_ratios=(3, 1))
        ax = fig.add_subplot(grid[0])
        ax_n = fig.add_subplot(grid[1], sharex=ax)
        ax.plot([0, 1], [0, 1], color="#9aa1a9", linestyle="--", linewidth=1, label="perfect")
        if bins:
            p, hit, n = (np.array(v, dtype="float64") for v in zip(*bins, strict=True))
            ax.plot(p, hit, color=ML_COLOR, linewidth=1.6, marker="o",
                    markersize=5, label="out-of-fold")
            for xi, yi, ni in zip(p, hit, n, strict=True):
                ax.annotate(f"{int(ni)}", (xi, yi), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=7.5, color=TEXT_COLOR)
            ax_n.bar(p, n, width=0.06, color=ML_COLOR, alpha=0.85)
        if quarantine_bins:
            qp, qhit, _ = (np.array(v, dtype="float64") for v in zip(*quarantine_bins,
                                                                      strict=True))
            ax.plot(qp, qhit, linestyle="none", marker="o", markersize=6, markerfacecolor="none",
                    markeredgecolor="#6b4c9a", label="quarantine")
        for axis in (ax, ax_n):
            axis.axvline(threshold, color="#555b63", linestyle=":", linewidth=1)
            _style(axis)
        ax.text(threshold, 0.02, f" rule cut {threshold:.2f}", fontsize=7.5, color="#555b63")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.05)
        ax.set_ylabel("observed win rate")
        ax.set_title(title, loc="left")
        ax.legend(loc="upper left", fontsize=8)
        ax.tick_params(labelbottom=False)
        ax_n.set_xlabel("predicted confidence (calibrated)")
        ax_n.set_ylabel("setups")
        return _png(fig)


def importance_figure(title: str, gains: Mapping[str, float], top: int = 15) -> bytes:
    """Horizontal bars of the ``top`` largest gains, largest at the top.

    Args:
        title: figure title (the strategy).
        gains: feature name -> average gain (XGBoost ``get_score(importance_type="gain")``).
        top: how many features to show.

    Returns:
        PNG bytes.
    """
    items = sorted(gains.items(), key=lambda kv: kv[1], reverse=True)[:top]
    with _rc():
        fig = _new_figure(5.4, 0.28 * max(len(items), 4) + 1.0)
        ax = fig.add_subplot()
        names = [name for name, _ in items][::-1]
        values = [float(v) for _, v in items][::-1]
        bars = ax.barh(names, values, color=ML_COLOR, height=0.65)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7.5, padding=2)
        ax.set_xlabel("average gain per split")
        ax.set_title(title, loc="left")
        ax.margins(x=0.15)
        ax.tick_params(axis="y", labelsize=8)
        _style(ax)
        ax.grid(axis="y", visible=False)
        if not items:
            ax.text(0.5, 0.5, "no splits in the model", ha="center", va="center",
                    transform=ax.transAxes, color="#888")
        return _png(fig)


def _rc() -> contextlib.AbstractContextManager[None]:
    """The report's Matplotlib style, applied to figures created inside the block."""
    return mpl.rc_context(_STYLE)  # type: ignore[arg-type]  # stubs want literal keys
