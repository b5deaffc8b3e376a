"""Self-contained HTML report of one training run and its backtests.

``write_html_report(run_dir, run, backtests)`` writes ``run_dir/index.html`` plus one PNG per
figure beside it; the HTML embeds every PNG as a base64 data URI and carries its CSS inline, so
the single file can be mailed or opened offline (no script, no network resource).

Sections: headline table (rules-only vs ML-filtered, per strategy and combined, out-of-sample
folds and quarantine apart), equity and drawdown, trades by exit reason, per-pair table,
calibration, feature importance, per-fold metrics.

Formatting only: numbers come from :mod:`training.models.train` /
:mod:`training.evaluation.metrics` results and
the backtest's ``stats``; per-pair and exit-reason tallies group the backtest trades with
:func:`training.backtest.stats.trade_figures`. Without backtests the headline falls back to the
per-setup label statistics and says so.
"""

from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from training import report_plots as plots
from training.backtest import BacktestResult
from training.backtest.stats import trade_figures
from training.evaluation.metrics import EvalMetrics, reliability_curve, trade_stats
from training.pipeline import StrategyRun, TrainingRun
from training.report_evidence import evidence_section

SLICES: Final[tuple[tuple[str, str], ...]] = (
    ("oof", "Out-of-sample (walk-forward test folds)"),
    ("quarantine", "Quarantine (newest 30 days)"),
)
MODES: Final[tuple[tuple[str, str], ...]] = (("rules", "rules only"), ("ml", "ML-filtered"))
COMBINED: Final = "combined"
HEADLINE_COLUMNS: Final[tuple[str, ...]] = (
    "Trades", "Win rate", "Profit factor", "Expectancy", "Sharpe", "Max drawdown", "Total return",
)
DASH: Final = "–"
QUARANTINE_NOTE: Final = "quarantine = newest 30 days, never used to fit or tune"
TOP_FEATURES: Final = 15


Backtests = Mapping[tuple[str, str, str], BacktestResult]
"""Keyed ``(scope, mode, slice)``: scope a strategy or ``"combined"``, mode ``"rules"`` /
``"ml"``, slice ``"oof"`` / ``"quarantine"``."""


# --- number formatting (public: the tests format the stats with these) ----------------------

def _value(x: object) -> float | None:
    """``x`` as a float, or ``None`` when missing (None, NaN or not a number)."""
    if x is None or isinstance(x, bool) or not isinstance(x, int | float | np.number):
        return None
    v = float(x)
    return None if math.isnan(v) else v


def fmt_signed_pct(frac: object, digits: int = 2) -> str:
    """Fraction as a signed percentage: 0.01234 -> ``+1.23%``; zero -> ``0.00%``; NaN -> –."""
    v = _value(frac)
    if v is None:
        return DASH
    pct = v * 100.0
    return f"{0:.{digits}f}%" if round(pct, digits) == 0 else f"{pct:+.{digits}f}%"


def fmt_rate(frac: object, digits: int = 1) -> str:
    """A share in [0, 1] as an unsigned percentage: 0.5648 -> ``56.5%``; NaN -> –."""
    v = _value(frac)
    return DASH if v is None else f"{v * 100.0:.{digits}f}%"


def fmt_num(value: object, digits: int = 2) -> str:
    """Plain number (profit factor, Sharpe, AUC): ``1.36``; infinity -> ∞; NaN -> –."""
    v = _value(value)
    if v is None:
        return DASH
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:.{digits}f}"


def fmt_int(value: object) -> str:
    """Count with thousands separators; NaN -> –."""
    v = _value(value)
    return DASH if v is None else f"{int(v):,}"


def fmt_quote(value: object) -> str:
    """Signed quote amount: ``+1,234.56``; zero -> ``0.00``; NaN -> –."""
    v = _value(value)
    if v is None:
        return DASH
    return "0.00" if round(v, 2) == 0 else f"{v:+,.2f}"


def fmt_utc(ts_s: object, with_time: bool = True) -> str:
    """UTC seconds as ISO 8601: ``2025-01-29T10:00Z`` (or the date alone); missing -> –."""
    v = _value(ts_s)
    if v is None:
        return DASH
    return time.strftime("%Y-%m-%dT%H:%MZ" if with_time else "%Y-%m-%d", time.gmtime(int(v)))


def fmt_drawdown(frac: object) -> str:
    """Drawdown as a signed loss, ``-5.13%``, whichever sign the input carries."""
    v = _value(frac)
    return fmt_signed_pct(None if v is None else -abs(v))


def headline_cells(stats: Mapping[str, Any]) -> list[str]:
    """The headline row for one backtest's ``stats`` (or label stats), in
    :data:`HEADLINE_COLUMNS` order; a missing key shows as –."""
    return [
        fmt_int(stats.get("trades")),
        fmt_rate(stats.get("win_rate")),
        fmt_num(stats.get("profit_factor")),
        fmt_signed_pct(stats.get("expectancy_frac")),
        fmt_num(stats.get("sharpe")),
        fmt_drawdown(stats.get("max_drawdown_frac")),
        fmt_signed_pct(stats.get("total_return_frac")),
    ]


# --- HTML building blocks -----------------------------------------------------------------

def _e(text: object) -> str:
    return html.escape(str(text))


def _sign_class(text: str) -> str:
    if text.startswith("+"):
        return "pos"
    if text.startswith("-"):
        return "neg"
    return ""


def _td(text: str, signed: bool = False) -> str:
    cls = f' class="{_sign_class(text)}"' if signed and _sign_class(text) else ""
    return f"<td{cls}>{_e(text)}</td>"


def _chip(mode: str) -> str:
    return f'<span class="chip {mode}">{_e(dict(MODES)[mode])}</span>'


def _table(head: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
    ths = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (f'<table class="{cls}"><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _caption(text: str) -> str:
    return f'<p class="caption">{text}</p>'


class _Figures:
    """Writes each PNG beside ``index.html`` and returns the ``<figure>`` embedding it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def embed(self, name: str, png: bytes, caption: str, alt: str) -> str:
        (self.folder / name).write_bytes(png)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return (f'<figure><img src="{uri}" alt="{_e(alt)}" data-file="{_e(name)}">'
                f"<figcaption>{caption}</figcaption></figure>")


# --- data selection -----------------------------------------------------------------------

def _scopes(run: TrainingRun, backtests: Backtests | None) -> list[str]:
    scopes: list[str] = list(run.strategies)
    has_combined = (any(k[0] == COMBINED for k in backtests) if backtests is not None
                    else len(scopes) > 1)
    return [*scopes, COMBINED] if has_combined else scopes


def _usable(sr: StrategyRun) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows usable as labels (filled and resolved), as training decided."""
    usable = sr.result.trainable
    return usable if usable is not None else np.ones(len(sr.dataset.frame), dtype=bool)


def _label_rows(sr: StrategyRun, slice_name: str, mode: str) -> pd.DataFrame:
    """The label rows the walk-forward evaluated for a slice: tested (or quarantined), usable
    rows; ML keeps those the ex-ante decision rule took (as :mod:`training.models.train`)."""
    oof = sr.result.oof
    fold = oof["fold"].to_numpy()
    rows = _usable(sr) & ((fold > 0) if slice_name == "oof" else (fold == -1))
    if mode == "ml":
        rows &= oof["take"].to_numpy(dtype=bool)
    frame = sr.dataset.frame.loc[rows].copy()
    frame["strategy"] = sr.dataset.strategy
    frame["confidence"] = oof.loc[rows, "confidence"]
    frame["slippage_quote"] = 0.0  # labels replay exits without slippage
    return frame


def _trades(run: TrainingRun, backtests: Backtests | None, scope: str, mode: str,
            slice_name: str) -> pd.DataFrame | None:
    """Trades of a cell: the backtest's, else the label rows (fallback). ``None``: no data."""
    if backtests is not None:
        bt = backtests.get((scope, mode, slice_name))
        return None if bt is None else bt.trades
    names = list(run.strategies) if scope == COMBINED else [scope]
    frames = [_label_rows(run.strategies[s], slice_name, mode) for s in names]  # type: ignore[index]
    return pd.concat(frames, ignore_index=True) if frames else None


def _stats(run: TrainingRun, backtests: Backtests | None, scope: str, mode: str,
           slice_name: str) -> Mapping[str, Any] | None:
    if backtests is not None:
        bt = backtests.get((scope, mode, slice_name))
        return None if bt is None else bt.stats
    if scope != COMBINED:
        res = run.strategies[scope].result  # type: ignore[index]
        m: EvalMetrics | None = res.overall if slice_name == "oof" else res.quarantine
        if m is None:
            return None
        return (m.all_setups if mode == "rules" else m.ml_approved).to_dict()
    rows = _trades(run, None, scope, mode, slice_name)
    if rows is None:
        return None
    return trade_stats(rows["net_return_frac"].to_numpy(float),
                       rows["net_pnl_quote"].to_numpy(float),
                       rows["filled_quote"].to_numpy(float)).to_dict()


def _quote(run: TrainingRun) -> str:
    quotes = {pair.rsplit("-", 1)[-1] for pair in run.candle_sets}
    return quotes.pop() if len(quotes) == 1 else "quote"


def _fee_note(run: TrainingRun, backtests: Backtests | None = None) -> str:
    """Which costs the numbers are after: the label fees, or the backtest's fees (its own
    override, else the run's) plus its slippage model."""
    maker, taker = run.fees.maker_frac, run.fees.taker_frac
    if not backtests:
        return f"after Kraken fees {maker * 100:.2f} % maker / {taker * 100:.2f} % taker"
    config = next(iter(backtests.values())).config
    maker = getattr(config, "maker_fee_frac", None) or maker
    taker = getattr(config, "taker_fee_frac", None) or taker
    return (f"after Kraken fees {maker * 100:.2f} % maker / {taker * 100:.2f} % taker and "
            "market-fill slippage")


# --- sections -----------------------------------------------------------------------------

def _header(run: TrainingRun, backtests: Backtests | None) -> str:
    starts = [int(cs.frame["timestamp"].iloc[0]) for cs in run.candle_sets.values()]
    ends = [int(cs.frame["timestamp"].iloc[-1]) + cs.interval_s for cs in run.candle_sets.values()]
    q_starts = [sr.result.plan.quarantine_start_s for sr in run.strategies.values()]
    folds = max((len(sr.result.plan.folds) for sr in run.strategies.values()), default=0)
    facts = [
        ("Pairs", ", ".join(sorted(run.candle_sets))),
        ("Candles (UTC)", f"{fmt_utc(min(starts))} → {fmt_utc(max(ends))}"),
        ("Strategies", ", ".join(run.strategies)),
        ("Walk-forward", f"{folds} test folds, purged with a 1-day embargo"),
        ("Quarantine from", fmt_utc(min(q_starts)) if q_starts else DASH),
        ("Fees (labels)", f"maker {run.fees.maker_frac * 100:.2f} %, "
                          f"taker {run.fees.taker_frac * 100:.2f} %"),
        ("Decision rules", ", ".join(f"{s} top {100 * sr.result.rule.keep_frac:.0f} %"
                                     for s, sr in run.strategies.items())),
        ("Generated", fmt_utc(time.time())),
    ]
    dl = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    cfg = _config_block(backtests)
    return (f'<header><h1>Training &amp; backtest report</h1><dl class="facts">{dl}</dl>'
            f"{cfg}</header>")


def _config_block(backtests: Backtests | None) -> str:
    if not backtests:
        return ""
    config = next(iter(backtests.values())).config
    items = _flat(config.model_dump(mode="json") if hasattr(config, "model_dump") else config)
    body = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in items.items())
    return (f'<details><summary>Backtest settings</summary><dl class="facts small">{body}</dl>'
            "</details>")


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    """Nested settings as ``{"risk.max_positions": 5, ...}``."""
    if not isinstance(value, Mapping):
        return {prefix or "config": value}
    out: dict[str, object] = {}
    for key, sub in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(sub, Mapping) and sub:
            out.update(_flat(sub, name))
        else:
            out[name] = sub
    return out


_KPI_LINE: Final[tuple[tuple[str, str, Callable[[Any], str]], ...]] = (
    ("trades", "trades", fmt_int), ("PF", "profit_factor", fmt_num), ("win", "win_rate", fmt_rate),
    ("max DD", "max_drawdown_frac", fmt_drawdown),
)


def _kpis(run: TrainingRun, backtests: Backtests | None, scopes: list[str]) -> str:
    """Cards: the widest scope's return, rules vs ML, per slice."""
    scope = scopes[-1]
    key, label = ("total_return_frac", "total return") if backtests is not None else (
        "expectancy_frac", "expectancy per trade")
    cards = []
    for slice_name, slice_title in SLICES:
        by_mode = {m: _stats(run, backtests, scope, m, slice_name) or {} for m, _ in MODES}
        nums = "".join(
            f'<div class="kpi-num {m}"><span>{_e(t)}</span>'
            f'<b class="{_sign_class(fmt_signed_pct(by_mode[m].get(key)))}">'
            f"{_e(fmt_signed_pct(by_mode[m].get(key)))}</b></div>" for m, t in MODES)
        sub = " · ".join(
            f"{name} {fmt(by_mode['rules'].get(k))} → {fmt(by_mode['ml'].get(k))}"
            for name, k, fmt in _KPI_LINE if k in by_mode["rules"] or k in by_mode["ml"])
        cards.append(f'<div class="kpi"><h3>{_e(scope)} · {_e(slice_title)}</h3>'
                     f'<p class="kpi-label">{_e(label)}</p><div class="kpi-row">{nums}</div>'
                     f'<p class="kpi-sub">{_e(sub)}</p></div>')
    return f'<div class="kpis">{"".join(cards)}</div>'


def _headline(run: TrainingRun, backtests: Backtests | None, scopes: list[str]) -> str:
    parts = ['<section id="headline"><h2>Headline: rules only vs ML-filtered</h2>',
             _kpis(run, backtests, scopes)]
    if backtests is None:
        parts.append('<p class="note">No backtest results were given: the figures below are '
                     "per-setup label statistics (each setup alone at its planned size, no shared "
                     "capital, no compounding); Sharpe, drawdown and total return need the "
                     "backtest.</p>")
    for slice_name, slice_title in SLICES:
        rows = []
        for scope in scopes:
            for i, (mode, _) in enumerate(MODES):
                stats = _stats(run, backtests, scope, mode, slice_name)
                cells = headline_cells(stats) if stats is not None else [DASH] * 7
                first = (f'<th rowspan="{len(MODES)}" class="scope">{_e(scope)}</th>'
                         if i == 0 else "")
                tds = "".join(_td(c, signed=j >= 2) for j, c in enumerate(cells))
                rows.append(f'<tr id="headline-{slice_name}-{scope}-{mode}" class="{mode}">'
                            f'{first}<td class="mode">{_chip(mode)}</td>{tds}</tr>')
        parts.append(f"<h3>{_e(slice_title)}</h3>")
        parts.append(_table(("Scope", "Mode", *HEADLINE_COLUMNS), rows, "headline"))
    parts.append(_caption(
        f"Returns and PnL {_fee_note(run, backtests)}. Expectancy = mean net return per trade; "
        f"profit factor = gross profit / gross loss; drawdown from the running equity peak; "
        f"{QUARANTINE_NOTE}."))
    if backtests is not None:
        parts.append(_skipped(backtests, scopes))
    parts.append("</section>")
    return "".join(parts)


_POSITION_COUNTS: Final = (("positions_opened", "Opened"), ("not_filled", "Not filled"),
                           ("open_at_end", "Open at end"))


def _skipped(backtests: Backtests, scopes: list[str]) -> str:
    """Collapsed table: positions opened (of which never filled / still open at the end) and
    setups not entered, by reason, per backtest."""
    reasons = sorted({str(r) for bt in backtests.values() for r in bt.skipped["reason"]})
    rows = []
    for scope in scopes:
        for slice_name, _ in SLICES:
            for mode, _ in MODES:
                bt = backtests.get((scope, mode, slice_name))
                if bt is None:
                    continue
                counts = bt.skipped["reason"].value_counts()
                cells = "".join(_td(fmt_int(bt.stats.get(k))) for k, _ in _POSITION_COUNTS)
                cells += "".join(_td(fmt_int(counts.get(r, 0))) for r in reasons)
                rows.append(f"<tr><td>{_e(scope)}</td><td>{_e(slice_name)}</td>"
                            f'<td class="mode">{_chip(mode)}</td>{cells}</tr>')
    head = ("Scope", "Slice", "Mode", *(t for _, t in _POSITION_COUNTS),
            *(f"skip: {r}" for r in reasons))
    table = _table(head, rows, "compact")
    return ("<details><summary>Positions opened and setups not entered, by reason</summary>"
            f"{table}</details>")


def _equity(run: TrainingRun, backtests: Backtests | None, scopes: list[str],
            figs: _Figures) -> str:
    parts = ['<section id="equity"><h2>Equity curves and drawdown</h2>']
    if backtests is None:
        parts.append('<p class="note">Needs backtest results (none were given).</p></section>')
        return "".join(parts)
    for scope in scopes:
        panels = [(title, {m: backtests[(scope, m, s)].equity for m, _ in MODES
                           if (scope, m, s) in backtests}) for s, title in SLICES]
        png = plots.equity_figure(scope, panels, _quote(run))
        parts.append(figs.embed(
            f"equity_{scope}.png", png,
            f"{_e(scope)}: hourly equity marked to market {_e(_fee_note(run, backtests))}; "
            f"lower panel: drawdown from the running peak. Left: out-of-sample folds; right: "
            f"{_e(QUARANTINE_NOTE)}.", f"equity and drawdown, {scope}"))
    parts.append("</section>")
    return "".join(parts)


def _exit_reasons(run: TrainingRun, backtests: Backtests | None, scopes: list[str],
                  figs: _Figures) -> str:
    counts: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for slice_name, title in SLICES:
        for scope in scopes:
            cell = {}
            for mode, _ in MODES:
                trades = _trades(run, backtests, scope, mode, slice_name)
                if trades is not None:
                    cell[mode] = {str(k): int(v)
                                  for k, v in trades["exit_reason"].value_counts().items()}
            counts[(title.split(" (")[0], scope)] = cell
    rows = [title.split(" (")[0] for _, title in SLICES]
    png = plots.exit_reason_figure(rows, scopes, counts)
    source = "backtest trades" if backtests is not None else "label replay of each setup"
    fig = figs.embed("exit_reasons.png", png,
                     f"Trades by exit reason ({_e(source)}), rules only vs ML-filtered; "
                     f"{_e(QUARANTINE_NOTE)}.", "trades by exit reason")
    return f'<section id="exit-reasons"><h2>Trades by exit reason</h2>{fig}</section>'


def _per_pair(run: TrainingRun, backtests: Backtests | None, scopes: list[str]) -> str:
    """Per pair and for all pairs: trades, win rate, net PnL by the backtest's definitions
    (:func:`training.backtest.stats.trade_figures`: closed trades; PnL includes positions marked
    open at the end)."""
    scope = scopes[-1]
    cols = [(s, m) for s, _ in SLICES for m, _ in MODES]
    pairs = sorted(run.candle_sets)  # every pair, so a pair without trades shows 0
    stats: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s, m in cols:
        trades = _trades(run, backtests, scope, m, s)
        if trades is None:
            continue
        for pair in pairs:
            stats[(pair, s, m)] = trade_figures(trades[trades["pair"] == pair])
        stats[("all pairs", s, m)] = trade_figures(trades)
    group_head = "".join(f'<th colspan="3" class="grp {m}">{_e(dict(SLICES)[s].split(" (")[0])}'
                         f" · {_e(dict(MODES)[m])}</th>" for s, m in cols)
    sub_head = "".join("<th>Trades</th><th>Win rate</th><th>Net PnL</th>" for _ in cols)
    body = []
    for pair in [*pairs, "all pairs"]:
        cells = []
        for s, m in cols:
            st = stats.get((pair, s, m))
            cells += ([_td(fmt_int(st["trades"])), _td(fmt_rate(st["win_rate"])),
                       _td(fmt_quote(st["net_pnl_quote"]), signed=True)] if st
                      else [_td(DASH)] * 3)
        attrs = ' id="pair-all" class="total"' if pair == "all pairs" else f' id="pair-{_e(pair)}"'
        body.append(f"<tr{attrs}><th>{_e(pair)}</th>{''.join(cells)}</tr>")
    table = (f'<table class="pairs"><thead><tr><th rowspan="2">Pair</th>{group_head}</tr>'
             f"<tr>{sub_head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    what = ("backtest trades" if backtests is not None else "label replay (no backtest)")
    note = (f"Trades = filled and closed positions; net PnL in {_quote(run)} "
            f"{_fee_note(run, backtests)}, including positions still open at the data end "
            f"(marked at the last close); {what}; {QUARANTINE_NOTE}.")
    return (f'<section id="pairs"><h2>Per-pair results ({_e(scope)})</h2>{table}'
            + _caption(_e(note)) + "</section>")


def _calibration(run: TrainingRun, figs: _Figures) -> str:
    cards = []
    for strategy, sr in run.strategies.items():
        res = sr.result
        oof, q = _label_rows(sr, "oof", "rules"), _label_rows(sr, "quarantine", "rules")
        bins = reliability_curve(oof["win"].to_numpy(bool), oof["confidence"].to_numpy(float))
        q_bins = reliability_curve(q["win"].to_numpy(bool), q["confidence"].to_numpy(float))
        cut = float(res.calibration.apply(res.rule.min_rank))
        png = plots.reliability_figure(strategy, bins, cut, q_bins)
        warm = [str(f["fold"]) for f in res.fold_metrics if not f.get("ex_ante_rule", True)]
        note = (f" Fold {', '.join(warm)}: no ex-ante rule or calibration yet (too few earlier "
                "out-of-fold setups); it only feeds later folds." if warm else "")
        caption = (f"<b>{_e(strategy)}</b> · out-of-fold: {_metric_line(res.overall)}<br>"
                   f"quarantine: {_metric_line(res.quarantine)}. Numbers on the points are setups "
                   f"per bin.{_e(note)}")
        cards.append(figs.embed(f"calibration_{strategy}.png", png, caption,
                                f"reliability curve, {strategy}"))
    return (f'<section id="calibration"><h2>Calibration (reliability) of out-of-fold '
            f'confidence</h2><div class="grid2">{"".join(cards)}</div>'
            + _caption("Brier = mean squared error of the confidence against win/loss; ECE = "
                       "expected calibration error over 10 equal-width bins.") + "</section>")


def _metric_line(m: EvalMetrics | None) -> str:
    if m is None:
        return "no scored setups"
    return _e(f"{fmt_int(m.setups)} setups, Brier {fmt_num(m.brier, 3)}, "
              f"ECE {fmt_num(m.calibration_error, 3)}, AUC {fmt_num(m.auc, 3)}")


def _importance(run: TrainingRun, figs: _Figures) -> str:
    cards = []
    for strategy, sr in run.strategies.items():
        classifier = sr.result.models["classifier"]
        if not hasattr(classifier, "get_score"):  # a torch network: no split gains
            continue
        gains = classifier.get_score(importance_type="gain")
        # gain is a float per feature (a list only for multi-output models, not ours)
        scalar = {k: float(v) for k, v in gains.items() if isinstance(v, int | float)}
        png = plots.importance_figure(strategy, scalar, TOP_FEATURES)
        cards.append(figs.embed(f"importance_{strategy}.png", png,
                                f"<b>{_e(strategy)}</b>: top {TOP_FEATURES} of "
                                f"{len(sr.dataset.input_columns)} inputs by gain.",
                                f"feature importance, {strategy}"))
    return (f'<section id="importance"><h2>Feature importance (classifier gain)</h2>'
            f'<div class="grid2">{"".join(cards)}</div>'
            + _caption("The published classifier (trained on every setup resolved before the "
                       "quarantine); gain = average loss reduction of the splits on a feature.")
            + "</section>")


FOLD_HEAD: Final = ("Fold", "Test window (UTC)", "Train rows", "Setups", "Base win", "AUC",
                    "Brier", "ECE", "Prec@thr", "Approved", "Exp all", "Exp ML", "PF all",
                    "PF ML")


def _fold_cells(label: str, window: str, train_rows: str, m: Mapping[str, Any]) -> str:
    a, ml = m["all_setups"], m["ml_approved"]
    cells = [_td(fmt_int(m["setups"])), _td(fmt_rate(m["base_win_rate"])),
             _td(fmt_num(m["auc"], 3) + _auc_ci(m)), _td(fmt_num(m["brier"], 3)),
             _td(fmt_num(m["calibration_error"], 3)), _td(fmt_rate(m["precision_at_threshold"])),
             _td(fmt_int(m["approved"])), _td(fmt_signed_pct(a["expectancy_frac"]), True),
             _td(fmt_signed_pct(ml["expectancy_frac"]), True), _td(fmt_num(a["profit_factor"])),
             _td(fmt_num(ml["profit_factor"]))]
    return f"<th>{_e(label)}</th>{_td(window)}{_td(train_rows)}{''.join(cells)}"


def _auc_ci(m: Mapping[str, Any]) -> str:
    ci = m.get("auc_ci")
    return f" [{fmt_num(ci[0], 3)}, {fmt_num(ci[1], 3)}]" if ci else ""


def _folds(run: TrainingRun) -> str:
    parts = ['<section id="folds"><h2>Per-fold metrics</h2>']
    for strategy, sr in run.strategies.items():
        res = sr.result
        done = {int(f["fold"]): f for f in res.fold_metrics}
        rows = []
        for fold in res.plan.folds:
            window = f"{fmt_utc(fold.test_start_s, False)} → {fmt_utc(fold.test_end_s, False)}"
            f = done.get(fold.index)
            if f is None:
                rows.append(f'<tr class="muted"><th>{fold.index}</th>{_td(window)}'
                            f'<td colspan="{len(FOLD_HEAD) - 2}">skipped: too few training '
                            "rows or one outcome class</td></tr>")
            else:
                cells = _fold_cells(str(fold.index), window, fmt_int(f["train_rows"]), f)
                rows.append(f"<tr>{cells}</tr>")
        if res.overall is not None:
            cells = _fold_cells("all folds", "", "", res.overall.to_dict())
            rows.append(f'<tr class="total">{cells}</tr>')
        if res.quarantine is not None:
            q_window = f"{fmt_utc(res.plan.quarantine_start_s, False)} → " \
                       f"{fmt_utc(sr.dataset.data_end_s, False)}"
            final_rows = int((res.plan.final_train & _usable(sr)).sum())
            cells = _fold_cells("quarantine", q_window, fmt_int(final_rows),
                                res.quarantine.to_dict())
            rows.append(f'<tr class="quar">{cells}</tr>')
        parts.append(f"<h3>{_e(strategy)} <small>published rule: top "
                     f"{100 * res.rule.keep_frac:.0f} % by score rank</small></h3>")
        parts.append(_table(FOLD_HEAD, rows, "folds"))
    parts.append(_caption(
        "Per-setup label statistics (each setup alone, no shared capital) "
        f"{_e(_fee_note(run))}. Base win = share of setups that won under the rules-only exits; "
        "Prec@thr = win rate of the setups the fold's ex-ante rule took; AUC of the raw score per "
        "fold, of the score rank over all folds; Exp = mean net return per "
        "trade; PF = profit factor; all = every setup, ML = the approved ones. Quarantine row: "
        "the published model scored once on the newest 30 days; train rows = its training "
        "set.") + "</section>")
    return "".join(parts)


# --- page ---------------------------------------------------------------------------------

CSS: Final = """
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#2b2f36;
  font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px 28px 48px}
header{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 20px;
  margin-bottom:18px}
h1{margin:0 0 10px;font-size:22px}
h2{font-size:18px;margin:0 0 12px;padding-bottom:6px;border-bottom:2px solid #e1e4e8}
h3{font-size:14.5px;margin:16px 0 6px}
h3 small{color:#6a717b;font-weight:normal}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 20px;
  margin-bottom:18px}
dl.facts{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:6px 18px;margin:0}
dl.facts div{min-width:0}
dt{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:#6a717b}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}
dl.small dd{font-weight:normal;font-size:12.5px}
dl.small dt{text-transform:none;letter-spacing:0;overflow-wrap:anywhere}
table.compact td:nth-child(-n+3),table.compact th:nth-child(-n+3){text-align:left}
details{margin-top:10px}
summary{cursor:pointer;color:#4a6d8c;font-weight:600}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid #eceef1;text-align:right;white-space:nowrap}
thead th{background:#f0f2f5;color:#444b55;font-size:12px;position:relative}
th:first-child,td:first-child{text-align:left}
td.mode,table.headline thead th:nth-child(2){text-align:left}
tbody th{text-align:left;font-weight:600}
th.scope{vertical-align:middle;background:#fafbfc;border-right:1px solid #eceef1}
tr.ml td{background:#fff8f2}
tbody tr:hover td{background:#f2f6fa}
td.pos{color:#1e7b45;font-weight:600}
td.neg{color:#b3261e;font-weight:600}
tr.total td,tr.total th{border-top:2px solid #c9ced5;font-weight:600}
tr.quar td,tr.quar th{background:#f6f3fb}
tr.muted td,tr.muted th{color:#8a9099;font-style:italic}
.chip{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:11.5px;
  font-weight:600}
.chip.rules{background:#4a6d8c}
.chip.ml{background:#e8833a}
th.grp.rules{border-bottom:3px solid #4a6d8c}
th.grp.ml{border-bottom:3px solid #e8833a}
table.pairs td:nth-child(3n+1){border-right:1px solid #eceef1}
.caption,figcaption{color:#5c636d;font-size:12.5px;margin:8px 0 0}
.note{background:#fff6e0;border-left:4px solid #e8b13a;padding:8px 12px;margin:8px 0}
figure{margin:10px 0 18px}
figure img{max-width:100%;height:auto;display:block;border:1px solid #eceef1;border-radius:4px}
.grid2{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px 24px}
.kpis{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px;margin-bottom:8px}
.kpi{border:1px solid #e1e4e8;border-radius:8px;padding:10px 14px;background:#fbfcfd}
.kpi h3{margin:0;font-size:13px;color:#444b55}
.kpi-label{margin:2px 0 4px;font-size:11.5px;color:#6a717b}
.kpi-row{display:flex;gap:28px}
.kpi-num span{display:block;font-size:11.5px;font-weight:600}
.kpi-num.rules span{color:#4a6d8c}
.kpi-num.ml span{color:#e8833a}
.kpi-num b{font-size:26px;font-variant-numeric:tabular-nums}
.kpi-num b.pos{color:#1e7b45}
.kpi-num b.neg{color:#b3261e}
.kpi-sub{margin:4px 0 0;font-size:12px;color:#5c636d}
"""


def write_html_report(
    run_dir: Path,
    run: TrainingRun,
    backtests: Backtests | None = None,
) -> Path:
    """Write ``run_dir/index.html`` (self-contained) and its PNG figures beside it.

    Args:
        run_dir: output folder (created if missing), e.g. ``reports/training/<stamp>``.
        run: the training run (:func:`training.pipeline.train_all`).
        backtests: ``run_backtests(run, config)`` results keyed ``(scope, mode, slice)``; with
            ``None`` the headline and tallies come from the per-setup labels and the equity
            section says it needs a backtest.

    Returns:
        Path of ``index.html``.

    Raises:
        OSError: the folder or a file cannot be written.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    figs = _Figures(run_dir)
    scopes = _scopes(run, backtests)
    builders: list[Callable[[], str]] = [
        lambda: _headline(run, backtests, scopes),
        lambda: evidence_section(run),
        lambda: _equity(run, backtests, scopes, figs),
        lambda: _exit_reasons(run, backtests, scopes, figs),
        lambda: _per_pair(run, backtests, scopes),
        lambda: _calibration(run, figs),
        lambda: _importance(run, figs),
        lambda: _folds(run),
    ]
    body = _header(run, backtests) + "".join(build() for build in builders)
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Training &amp; backtest report</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>")
    path = run_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
