"""What two replays of the same window must agree on, as sortable rows (shared by the tests
that compare replay modes)."""

from __future__ import annotations

from typing import Any


def executor_rows(result: Any) -> list[tuple[Any, ...]]:
    """Every executor of a ``ReplayResult``: level, pair, side, times, close type, filled quote,
    net PnL and fees (quote, rounded to 1e-9), entry and close prices; sorted."""
    return sorted((e.level_id, e.pair, e.side, e.created_s, e.closed_s, e.close_type,
                   round(e.filled_quote, 9), round(e.net_pnl_quote, 9), round(e.fees_quote, 9),
                   e.entry_price, e.close_price) for e in result.executors)


def setup_rows(result: Any) -> list[tuple[Any, ...]]:
    """Every setup a ``ReplayResult`` observed: id, decision time, taken, skip guard and
    reason; sorted."""
    return sorted((s.setup_id, s.decided_s, s.taken, s.skip_guard, s.skip_reason)
                  for s in result.setups)
