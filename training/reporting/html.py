"""Self-contained HTML report of one training run and its backtests.

``write_html_report(run_dir, run, backtests)`` writes ``run_dir/index.html`` plus one PNG per
figure beside it; the HTML embeds every PNG as a base64 data URI and carries its CSS inline, so
the single file can be mailed or opened offline (no script, no network resource).

Sections: headline table (rules-only vs ML-filtered, per strategy and combined, out-of-sample
folds and quarantine apart), equity and drawdown, trades by exit reason, per-pair table,
calibration, feature importance, per-fold metrics.

Presentation only: numbers come from :mod:`training.models.train` /
:mod:`training.evaluation.metrics` results and the backtest's ``stats``; per-pair and
exit-reason tallies group the backtest trades with :func:`training.backtest.stats.trade_figures`.
Without backtests the headline falls back to the per-setup label statistics and says so. This
module selects and formats the figures (:mod:`training.reporting.formatting`); the markup is in
``templates/training/*.html`` and the style sheet in ``templates/training.css``
(:mod:`training.reporting.render`).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from training.backtest.stats import trade_figures
from training.evaluation.metrics import EvalMetrics, reliability_curve
from training.pipeline import TrainingRun
from training.reporting import plots
from training.reporting.evidence import evidence_section
from training.reporting.formatting import (
    DASH,
    fmt_drawdown,
    fmt_int,
    fmt_num,
    fmt_quote,
    fmt_rate,
    fmt_signed_pct,
    fmt_utc,
)
from training.reporting.render import read_asset, render
from training.reporting.run_figures import (
    MODES,
    QUARANTINE_NOTE,
    SLICES,
    Backtests,
    fee_note,
    label_rows,
    quote_currency,
    report_scopes,
    scope_stats,
    scope_trades,
    usable_rows,
)

HEADLINE_COLUMNS: Final[tuple[str, ...]] = (
    "Trades", "Win rate", "Profit factor", "Expectancy", "Sharpe", "Max drawdown", "Total return",
)
TOP_FEATURES: Final = 15


_COMMON: Final[dict[str, Any]] = {"modes": dict(MODES)}
"""Context every section template gets: mode key -> title (the chips)."""

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


class _Figures:
    """Writes each PNG beside ``index.html`` and returns the ``<figure>`` embedding it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def embed(self, name: str, png: bytes, caption: str, alt: str) -> str:
        (self.folder / name).write_bytes(png)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        return render("training/figure.html", uri=uri, alt=alt, file=name, caption=caption)


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
    config = None
    if backtests:
        cfg = next(iter(backtests.values())).config
        config = _flat(cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else cfg)
    return render("training/header.html", facts=facts, config=config)


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


def _kpi_cards(run: TrainingRun, backtests: Backtests | None,
               scopes: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """Cards: the widest scope's return, rules vs ML, per slice; and the label of the figure."""
    scope = scopes[-1]
    key, label = ("total_return_frac", "total return") if backtests is not None else (
        "expectancy_frac", "expectancy per trade")
    cards = []
    for slice_name, slice_title in SLICES:
        by_mode = {m: scope_stats(run, backtests, scope, m, slice_name) or {} for m, _ in MODES}
        sub = " · ".join(
            f"{name} {fmt(by_mode['rules'].get(k))} → {fmt(by_mode['ml'].get(k))}"
            for name, k, fmt in _KPI_LINE if k in by_mode["rules"] or k in by_mode["ml"])
        cards.append({"scope": scope, "title": slice_title, "sub": sub,
                      "nums": [{"mode": m, "title": title,
                                "text": fmt_signed_pct(by_mode[m].get(key))}
                               for m, title in MODES]})
    return label, cards


def _headline(run: TrainingRun, backtests: Backtests | None, scopes: list[str]) -> str:
    slices = []
    for slice_name, slice_title in SLICES:
        rows = []
        for scope in scopes:
            for i, (mode, _) in enumerate(MODES):
                stats = scope_stats(run, backtests, scope, mode, slice_name)
                cells = headline_cells(stats) if stats is not None else [DASH] * 7
                rows.append({"scope": scope, "mode": mode, "first": i == 0, "cells": cells})
        slices.append({"name": slice_name, "title": slice_title, "rows": rows})
    label, cards = _kpi_cards(run, backtests, scopes)
    return render("training/headline.html", kpi_label=label, cards=cards, slices=slices,
                  has_backtests=backtests is not None, fee_note=fee_note(run, backtests),
                  quarantine_note=QUARANTINE_NOTE, head=("Scope", "Mode", *HEADLINE_COLUMNS),
                  skipped=_skipped(backtests, scopes) if backtests is not None else None,
                  **_COMMON)


_POSITION_COUNTS: Final = (("positions_opened", "Opened"), ("not_filled", "Not filled"),
                           ("open_at_end", "Open at end"))


def _skipped(backtests: Backtests, scopes: list[str]) -> dict[str, Any]:
    """Positions opened (of which never filled / still open at the end) and setups not
    entered, by reason, per backtest: the head and rows of a collapsed table."""
    reasons = sorted({str(r) for bt in backtests.values() for r in bt.skipped["reason"]})
    rows = []
    for scope in scopes:
        for slice_name, _ in SLICES:
            for mode, _ in MODES:
                bt = backtests.get((scope, mode, slice_name))
                if bt is None:
                    continue
                counts = bt.skipped["reason"].value_counts()
                cells = [fmt_int(bt.stats.get(k)) for k, _ in _POSITION_COUNTS]
                cells += [fmt_int(counts.get(r, 0)) for r in reasons]
                rows.append({"scope": scope, "slice": slice_name, "mode": mode, "cells": cells})
    head = ("Scope", "Slice", "Mode", *(t for _, t in _POSITION_COUNTS),
            *(f"skip: {r}" for r in reasons))
    return {"head": head, "rows": rows}


def _equity(run: TrainingRun, backtests: Backtests | None, scopes: list[str],
            figs: _Figures) -> str:
    figures: list[str] = []
    for scope in scopes:
        if backtests is None:
            break
        panels = [(title, {m: backtests[(scope, m, s)].equity for m, _ in MODES
                           if (scope, m, s) in backtests}) for s, title in SLICES]
        png = plots.equity_figure(scope, panels, quote_currency(run))
        figures.append(figs.embed(
            f"equity_{scope}.png", png,
            render("training/equity_caption.html", scope=scope,
                   fee_note=fee_note(run, backtests), quarantine_note=QUARANTINE_NOTE),
            f"equity and drawdown, {scope}"))
    return render("training/equity.html", has_backtests=backtests is not None, figures=figures)


def _exit_reasons(run: TrainingRun, backtests: Backtests | None, scopes: list[str],
                  figs: _Figures) -> str:
    counts: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for slice_name, title in SLICES:
        for scope in scopes:
            cell = {}
            for mode, _ in MODES:
                trades = scope_trades(run, backtests, scope, mode, slice_name)
                if trades is not None:
                    cell[mode] = {str(k): int(v)
                                  for k, v in trades["exit_reason"].value_counts().items()}
            counts[(title.split(" (")[0], scope)] = cell
    rows = [title.split(" (")[0] for _, title in SLICES]
    png = plots.exit_reason_figure(rows, scopes, counts)
    source = "backtest trades" if backtests is not None else "label replay of each setup"
    figure = figs.embed("exit_reasons.png", png,
                        render("training/exit_reasons_caption.html", source=source,
                               quarantine_note=QUARANTINE_NOTE), "trades by exit reason")
    return render("training/exit_reasons.html", figure=figure)


def _per_pair(run: TrainingRun, backtests: Backtests | None, scopes: list[str]) -> str:
    """Per pair and for all pairs: trades, win rate, net PnL by the backtest's definitions
    (:func:`training.backtest.stats.trade_figures`: closed trades; PnL includes positions marked
    open at the end)."""
    scope = scopes[-1]
    cols = [(s, m) for s, _ in SLICES for m, _ in MODES]
    pairs = sorted(run.candle_sets)  # every pair, so a pair without trades shows 0
    stats: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s, m in cols:
        trades = scope_trades(run, backtests, scope, m, s)
        if trades is None:
            continue
        for pair in pairs:
            stats[(pair, s, m)] = trade_figures(trades[trades["pair"] == pair])
        stats[("all pairs", s, m)] = trade_figures(trades)
    rows = []
    for pair in [*pairs, "all pairs"]:
        cells: list[tuple[str, bool]] = []
        for s, m in cols:
            st = stats.get((pair, s, m))
            cells += ([(fmt_int(st["trades"]), False), (fmt_rate(st["win_rate"]), False),
                       (fmt_quote(st["net_pnl_quote"]), True)] if st else [(DASH, False)] * 3)
        rows.append({"pair": pair, "cells": cells})
    groups = [{"mode": m, "title": f"{dict(SLICES)[s].split(' (')[0]} · {dict(MODES)[m]}"}
              for s, m in cols]
    return render("training/pairs.html", scope=scope, groups=groups, rows=rows,
                  quote=quote_currency(run), fee_note=fee_note(run, backtests),
                  what="backtest trades" if backtests is not None else "label replay (no backtest)",
                  quarantine_note=QUARANTINE_NOTE)


def _calibration(run: TrainingRun, figs: _Figures) -> str:
    cards = []
    for strategy, sr in run.strategies.items():
        res = sr.result
        oof, q = label_rows(sr, "oof", "rules"), label_rows(sr, "quarantine", "rules")
        bins = reliability_curve(oof["win"].to_numpy(bool), oof["confidence"].to_numpy(float))
        q_bins = reliability_curve(q["win"].to_numpy(bool), q["confidence"].to_numpy(float))
        cut = float(res.calibration.apply(res.rule.min_rank))
        png = plots.reliability_figure(strategy, bins, cut, q_bins)
        warm = [str(f["fold"]) for f in res.fold_metrics if not f.get("ex_ante_rule", True)]
        note = (f" Fold {', '.join(warm)}: no ex-ante rule or calibration yet (too few earlier "
                "out-of-fold setups); it only feeds later folds." if warm else "")
        caption = render("training/calibration_caption.html", strategy=strategy,
                         oof=_metric_line(res.overall), quarantine=_metric_line(res.quarantine),
                         note=note)
        cards.append(figs.embed(f"calibration_{strategy}.png", png, caption,
                                f"reliability curve, {strategy}"))
    return render("training/calibration.html", cards=cards)


def _metric_line(m: EvalMetrics | None) -> str:
    if m is None:
        return "no scored setups"
    return (f"{fmt_int(m.setups)} setups, Brier {fmt_num(m.brier, 3)}, "
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
        caption = render("training/importance_caption.html", strategy=strategy,
                         top=TOP_FEATURES, inputs=len(sr.dataset.input_columns))
        cards.append(figs.embed(f"importance_{strategy}.png", png, caption,
                                f"feature importance, {strategy}"))
    return render("training/importance.html", cards=cards)


FOLD_HEAD: Final = ("Fold", "Test window (UTC)", "Train rows", "Setups", "Base win", "AUC",
                    "Brier", "ECE", "Prec@thr", "Approved", "Exp all", "Exp ML", "PF all",
                    "PF ML")


def _fold_row(label: str, window: str, train_rows: str, m: Mapping[str, Any],
              cls: str = "") -> dict[str, Any]:
    """One row of the per-fold table: label, window, training rows and the metric cells
    (``(text, signed)`` pairs)."""
    a, ml = m["all_setups"], m["ml_approved"]
    cells = [(fmt_int(m["setups"]), False), (fmt_rate(m["base_win_rate"]), False),
             (fmt_num(m["auc"], 3) + _auc_ci(m), False), (fmt_num(m["brier"], 3), False),
             (fmt_num(m["calibration_error"], 3), False),
             (fmt_rate(m["precision_at_threshold"]), False), (fmt_int(m["approved"]), False),
             (fmt_signed_pct(a["expectancy_frac"]), True),
             (fmt_signed_pct(ml["expectancy_frac"]), True), (fmt_num(a["profit_factor"]), False),
             (fmt_num(ml["profit_factor"]), False)]
    return {"skipped": False, "label": label, "window": window, "train_rows": train_rows,
            "cells": cells,
            "cls": cls}


def _auc_ci(m: Mapping[str, Any]) -> str:
    ci = m.get("auc_ci")
    return f" [{fmt_num(ci[0], 3)}, {fmt_num(ci[1], 3)}]" if ci else ""


def _folds(run: TrainingRun) -> str:
    strategies = []
    for strategy, sr in run.strategies.items():
        res = sr.result
        done = {int(f["fold"]): f for f in res.fold_metrics}
        rows: list[dict[str, Any]] = []
        for fold in res.plan.folds:
            window = f"{fmt_utc(fold.test_start_s, False)} → {fmt_utc(fold.test_end_s, False)}"
            f = done.get(fold.index)
            rows.append({"skipped": True, "label": str(fold.index), "window": window}
                        if f is None else
                        _fold_row(str(fold.index), window, fmt_int(f["train_rows"]), f))
        if res.overall is not None:
            rows.append(_fold_row("all folds", "", "", res.overall.to_dict(), "total"))
        if res.quarantine is not None:
            q_window = f"{fmt_utc(res.plan.quarantine_start_s, False)} → " \
                       f"{fmt_utc(sr.dataset.data_end_s, False)}"
            final_rows = int((res.plan.final_train & usable_rows(sr)).sum())
            rows.append(_fold_row("quarantine", q_window, fmt_int(final_rows),
                                  res.quarantine.to_dict(), "quar"))
        strategies.append({"name": strategy, "keep_pct": f"{100 * res.rule.keep_frac:.0f}",
                           "rows": rows})
    return render("training/folds.html", strategies=strategies, head=FOLD_HEAD,
                  fee_note=fee_note(run))


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
    scopes = report_scopes(run, backtests)
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
    page = render("training/page.html", css=read_asset("training.css"), body=body)
    path = run_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
