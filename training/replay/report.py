"""Printing and JSON of replay results (computation lives in :mod:`.results`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ml_signals.timeutil import format_utc
from training.replay.results import ReplayResult


def summary_dict(result: ReplayResult) -> dict[str, Any]:
    """JSON-ready summary: totals first, then every setup and executor."""
    return {
        "script": result.script,
        "config_path": result.config_path,
        "connector": result.connector,
        "pairs": list(result.pairs),
        "window": {"first_candle": format_utc(result.start_s),
                   "last_candle": format_utc(result.end_s),
                   "candles_per_pair": result.candles, "clock_ticks": result.subticks},
        "book": {"path_order": result.path_order, "steps_per_leg": result.steps_per_leg,
                 "half_spread_frac": result.half_spread_frac},
        "models": result.models or "not observable",
        "setups_seen": result.setups_seen,
        "setups_taken": result.setups_taken,
        "skipped_by_guard": result.skip_reasons,
        "guard_locks": list(result.guard_locks),
        "executors_opened": result.executors_opened,
        "executors_filled": result.executors_filled,
        "closed_by_type": result.closed_by_type,
        "net_pnl_quote": round(result.net_pnl_quote, 6),
        "fees_quote": round(result.fees_quote, 6),
        "open_at_end": result.open_at_end,
        "open_unrealised_pnl_quote": round(result.unrealised_pnl_quote, 6),
        "balances_start": result.balances_start,
        "balances_end": result.balances_end,
        "wall_s": round(result.wall_s, 2),
        "cpu_s": round(result.cpu_s, 2),
        "overrides": result.overrides,
        "hummingbot_errors": list(result.errors[:50]),
        "hummingbot_error_count": len(result.errors),
        "journal": asdict(result.journal) if result.journal else None,
        "alerts": asdict(result.alerts) if result.alerts else None,
        "setups": [asdict(s) for s in result.setups or ()],
        "executors": [asdict(e) for e in result.executors],
    }


def write_json(result: ReplayResult, out_dir: Path) -> Path:
    """Write ``<out_dir>/<script>.json``; returns the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result.script}.json"
    path.write_text(json.dumps(summary_dict(result), indent=2, default=str) + "\n")
    return path


def format_result(result: ReplayResult) -> str:
    """Human summary of one replay (what the CLI prints)."""
    models = (", ".join(f"{k}={v}" for k, v in sorted(result.models.items()))
              or "not observable")
    rules_only = [k for k, v in result.models.items() if v == "rules-only"]
    lines = [
        f"== {result.script} on {result.connector} {','.join(result.pairs)}: "
        f"{format_utc(result.start_s)} .. {format_utc(result.end_s)} "
        f"({result.candles} candles/pair, "
        f"{result.subticks} ticks, {result.wall_s:.1f} s wall, {result.cpu_s:.1f} s CPU)",
        f"   models: {models}"
        + (f"  [rules-only: no trained artifact for {', '.join(rules_only)}]"
           if rules_only else ""),
    ]
    if result.setups is None:
        lines.append("   setups: not observable (script has no runtime observers)")
    else:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(result.skip_reasons.items())) or "none"
        lines.append(f"   setups seen {result.setups_seen}, taken {result.setups_taken}; "
                     f"skipped by: {skipped}")
    closed = ", ".join(f"{k} {v}" for k, v in sorted(result.closed_by_type.items())) or "none"
    lines += [
        f"   executors opened {result.executors_opened} (filled {result.executors_filled}); "
        f"closed: {closed}; open at end {result.open_at_end} "
        f"(unrealised {result.unrealised_pnl_quote:+.2f})",
        f"   net PnL after fees {result.net_pnl_quote:+.2f} quote (fees {result.fees_quote:.2f})",
    ]
    if result.journal is not None:
        j = result.journal
        unwritten = (f"; NOT WRITTEN: {j.spool_pending} pending, {j.spool_rejected} rejected"
                     if j.spool_pending or j.spool_rejected else "")
        lines.append(f"   journal: {j.setups} setups, {j.predictions} predictions, {j.trades} "
                     f"trades ({j.closed_trades} closed){unwritten} -> {j.path}")
    if result.alerts is not None:
        a = result.alerts
        kinds = ", ".join(f"{k} {v}" for k, v in a.by_kind.items()) or "none"
        lines.append(f"   alerts: {a.delivered} delivered to the {a.destination}, {a.pending} "
                     f"pending, {a.failed} failed ({kinds}) -> {a.path}")
    if result.guard_locks:
        lines.append(f"   guard locks: {len(result.guard_locks)} (first: {result.guard_locks[0]})")
    if result.errors:
        lines.append(f"   Hummingbot ERROR log records: {len(result.errors)} "
                     f"(first: {result.errors[0]})")
    return "\n".join(lines)


def format_side_by_side(with_models: list[dict[str, Any]],
                        rules_only: list[dict[str, Any]]) -> str:
    """Each script's replay with its artifacts beside the same replay rules-only.

    Args:
        with_models, rules_only: :func:`summary_dict` of each script, in the same script order.

    Returns:
        A text table: setups seen, taken, executors and net PnL after fees (quote) of both
        variants and the difference (with models minus rules-only) — on one window, so the
        figures are one path's outcome, not an estimate with an interval.

    Raises:
        ValueError: the two lists name different scripts.
    """
    if [s["script"] for s in with_models] != [s["script"] for s in rules_only]:
        raise ValueError("side by side needs the same scripts in the same order")
    header = (f"{'script':<14} {'seen':>5} | {'models: taken':>13} {'executors':>9} "
              f"{'net PnL':>9} | {'rules-only: taken':>17} {'executors':>9} {'net PnL':>9} "
              f"| {'difference':>10}")
    lines = ["With the published artifacts vs rules-only, same window and book "
             "(net PnL after fees, quote). One window is one path of prices: no interval; "
             "judge the models by the backtest report (out-of-fold and newest-30-day setups, "
             "week-resampled intervals).", header, "-" * len(header)]
    for ml, rules in zip(with_models, rules_only, strict=True):
        lines.append(
            f"{ml['script']:<14} {ml['setups_seen'] if ml['setups_seen'] is not None else '-':>5}"
            f" | {_count(ml['setups_taken']):>13} {ml['executors_opened']:>9} "
            f"{ml['net_pnl_quote']:>+9.2f} | {_count(rules['setups_taken']):>17} "
            f"{rules['executors_opened']:>9} {rules['net_pnl_quote']:>+9.2f} | "
            f"{ml['net_pnl_quote'] - rules['net_pnl_quote']:>+10.2f}")
    return "\n".join(lines)


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
