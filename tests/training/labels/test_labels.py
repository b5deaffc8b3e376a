"""Label replay on real Binance 1h candles from data/sample.

Hand-checked windows compute the expected exit from the candle values with plain arithmetic and
first assert the facts that make them the expected case (which bar touches what), so a change in
the data or in the rules fails loudly. A slow pure-Python replay of the same rules checks the
compiled kernel on a few hundred real setups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_signals.exits import ExitRules
from ml_signals.setups.base import EntryPlan, Setup
from training.labels.batch import PositionBatch, simulate_positions
from training.labels.outcomes import (
    LABEL_COLUMNS,
    FeeSchedule,
    LabelConfig,
    label_setup,
    label_setups,
)

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample" / "binance"
HOUR = 3600
FEES = FeeSchedule()
TAKER = FEES.taker_frac
MAKER = FEES.maker_frac


@cache
def _candles(base: str) -> pd.DataFrame:
    """Canonical frame (int seconds ``timestamp``) of one shipped freqtrade feather file."""
    raw = pd.read_feather(SAMPLE / f"{base}_USDT-1h.feather")
    seconds = (raw["date"].dt.tz_convert("UTC").dt.tz_localize(None) - pd.Timestamp(0)) // \
        pd.Timedelta(seconds=1)
    frame = raw.drop(columns="date").assign(timestamp=seconds.astype("int64"))
    return frame[["timestamp", "open", "high", "low", "close", "volume"]]


def _row(candles: pd.DataFrame, timestamp: int) -> int:
    rows = np.flatnonzero(candles["timestamp"].to_numpy() == timestamp)
    assert rows.size == 1, f"timestamp {timestamp} not in the sample"
    return int(rows[0])


def _market(candles: pd.DataFrame, i: int, exits: ExitRules, pair: str = "ETH-USDT",
            quote: float = 100.0) -> Setup:
    return Setup("swing", pair, int(candles["timestamp"].iloc[i]), i,
                 float(candles["close"].iloc[i]), EntryPlan("market", (), (quote,)), exits)


def _grid(candles: pd.DataFrame, i: int, prices: list[float], exits: ExitRules,
          pair: str = "ETH-USDT", quote: float = 100.0) -> Setup:
    return Setup("dca", pair, int(candles["timestamp"].iloc[i]), i,
                 float(candles["close"].iloc[i]),
                 EntryPlan("limit_grid", tuple(prices), (quote,) * len(prices)), exits)


def _ohlc(candles: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(candles[k].to_numpy() for k in ("open", "high", "low", "close", "timestamp"))


# --------------------------------------------------------------------------- hand-checked


def test_market_entry_stop_loss_on_a_later_candle() -> None:
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, 1733760000)  # 2024-12-09 16:00 UTC
    setup = _market(c, i, ExitRules(take_profit_frac=0.10, stop_loss_frac=0.03,
                                    time_limit_s=24 * HOUR))
    entry = o[i + 1]
    stop = entry * (1 - 0.03 + TAKER)  # Hummingbot: net pnl after the entry fee <= -3 %
    target = entry * 1.10
    j = i + 4
    assert all(lo[k] > stop and h[k] < target for k in range(i + 1, j))
    assert lo[j] <= stop < o[j] and h[j] < target

    out = label_setup(setup, c, HOUR)

    base = 100.0 / entry
    expected_pnl = base * stop * (1 - TAKER) - 100.0 * (1 + TAKER)
    assert out.exit_reason == "STOP_LOSS"
    assert out.entry_ts == ts[i + 1] and out.entry_price == entry
    assert out.exit_price == pytest.approx(stop, rel=1e-12)
    assert out.exit_ts == ts[j] + HOUR
    assert out.hold_s == 4 * HOUR
    assert out.net_pnl_quote == pytest.approx(expected_pnl, rel=1e-10)
    assert out.net_return_frac == pytest.approx(expected_pnl / 100.0, rel=1e-10)
    assert out.fees_quote == pytest.approx(100.0 * TAKER + base * stop * TAKER, rel=1e-10)
    assert not out.win
    assert out.mae_frac == pytest.approx(stop / entry - 1, rel=1e-12)
    assert out.mfe_frac == pytest.approx(max(h[i + 1:j]) / entry - 1, rel=1e-12)


def test_market_entry_take_profit_by_limit_order() -> None:
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, 1733479200)  # 2024-12-06 10:00 UTC
    setup = _market(c, i, ExitRules(take_profit_frac=0.03, stop_loss_frac=0.10,
                                    time_limit_s=24 * HOUR))
    entry = o[i + 1]
    target = entry * 1.03  # resting limit sell at entry * (1 + tp), gross of fees
    stop = entry * (1 - 0.10 + TAKER)
    j = i + 4
    assert all(h[k] < target and lo[k] > stop for k in range(i + 1, j))
    assert o[j] < target <= h[j] and lo[j] > stop

    out = label_setup(setup, c, HOUR)

    base = 100.0 / entry
    expected_pnl = base * target * (1 - MAKER) - 100.0 * (1 + TAKER)
    assert out.exit_reason == "TAKE_PROFIT" and out.win
    assert out.exit_price == pytest.approx(target, rel=1e-12)
    assert out.exit_ts == ts[j] + HOUR and out.hold_s == 4 * HOUR
    assert out.net_pnl_quote == pytest.approx(expected_pnl, rel=1e-10)
    assert out.mfe_frac == pytest.approx(0.03, rel=1e-9)
    assert out.mae_frac == pytest.approx(min(lo[i + 1:j + 1]) / entry - 1, rel=1e-12)


def test_market_take_profit_order_type_changes_price_and_fee() -> None:
    c = _candles("ETH")
    o, h, _, _, _ = _ohlc(c)
    i = _row(c, 1733479200)
    setup = _market(c, i, ExitRules(take_profit_frac=0.03, stop_loss_frac=0.10,
                                    time_limit_s=24 * HOUR))
    entry = o[i + 1]
    threshold = entry * (1 + 0.03 + TAKER)  # market take profit: net pnl >= 3 %
    j = i + 5  # one candle later than the limit order above: the threshold is higher
    assert all(h[k] < threshold for k in range(i + 1, j)) and o[j] < threshold <= h[j]

    out = label_setup(setup, c, HOUR, config=LabelConfig(position_take_profit_order="market"))

    base = 100.0 / entry
    assert out.exit_reason == "TAKE_PROFIT"
    assert out.exit_price == pytest.approx(threshold, rel=1e-12) and out.hold_s == 5 * HOUR
    assert out.net_pnl_quote == pytest.approx(
        base * threshold * (1 - TAKER) - 100.0 * (1 + TAKER), rel=1e-10)


def test_market_entry_time_limit_exits_at_the_open_after_the_limit() -> None:
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, 1733472000)  # 2024-12-06 08:00 UTC
    setup = _market(c, i, ExitRules(take_profit_frac=0.10, stop_loss_frac=0.10,
                                    time_limit_s=6 * HOUR))
    entry = o[i + 1]
    end = i + 1 + 6  # executor starts at ts[i+1]; expires at ts[i+1] + 6h = ts[i+7]
    assert ts[end] == ts[i + 1] + 6 * HOUR
    assert all(entry * (1 - 0.10 + TAKER) < lo[k] and h[k] < entry * 1.10
               for k in range(i + 1, end))

    out = label_setup(setup, c, HOUR)

    base = 100.0 / entry
    assert out.exit_reason == "TIME_LIMIT"
    assert out.exit_price == o[end] and out.exit_ts == ts[end] and out.hold_s == 6 * HOUR
    assert out.net_pnl_quote == pytest.approx(
        base * o[end] * (1 - TAKER) - 100.0 * (1 + TAKER), rel=1e-10)
    assert out.win == (out.net_pnl_quote > 0)


@pytest.mark.parametrize("timestamp, offset", [(1738584000, 2), (1738587600, 1)])
def test_candle_touching_stop_and_target_counts_the_stop(timestamp: int, offset: int) -> None:
    """offset 2: a later candle touches both; offset 1: the entry candle itself does."""
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, timestamp)  # 2025-02-03 12:00 / 13:00 UTC, a wide candle at 14:00
    setup = _market(c, i, ExitRules(take_profit_frac=0.02, stop_loss_frac=0.02,
                                    time_limit_s=24 * HOUR))
    entry = o[i + 1]
    stop, target = entry * (1 - 0.02 + TAKER), entry * 1.02
    j = i + offset
    assert all(lo[k] > stop and h[k] < target for k in range(i + 1, j))
    assert lo[j] <= stop < o[j] and h[j] >= target  # both inside one candle's range

    out = label_setup(setup, c, HOUR)

    assert out.exit_reason == "STOP_LOSS"
    assert out.exit_price == pytest.approx(stop, rel=1e-12)
    assert out.exit_ts == ts[j] + HOUR
    assert out.net_pnl_quote == pytest.approx(
        100.0 / entry * stop * (1 - TAKER) - 100.0 * (1 + TAKER), rel=1e-10)


def test_partially_filled_dca_grid_takes_profit_on_its_average_price() -> None:
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, 1730826000)  # 2024-11-05 17:00 UTC
    ref = c["close"].iloc[i]
    prices = [round(ref * (1 - f), 2) for f in (0.01, 0.02, 0.03, 0.04, 0.05)]
    setup = _grid(c, i, prices, ExitRules(take_profit_frac=0.03, stop_loss_frac=0.08,
                                          time_limit_s=72 * HOUR))
    p0, p1, p2 = prices[:3]
    fill = i + 2
    assert o[i + 1] > p0 and lo[i + 1] > p0  # nothing fills on the first executor candle
    assert o[fill] > p0 and p1 >= lo[fill] > p2  # levels 0 and 1 fill (maker) at their prices
    base = 100.0 / p0 + 100.0 / p1
    avg = 200.0 / base  # DCA break-even: quote / base
    # DCAExecutor: market take profit when net pnl (entry maker fees included) > 3 %
    threshold = avg * (1 + 0.03 + MAKER)
    j = i + 7
    assert all(h[k] <= threshold and lo[k] > p2 for k in range(fill, j))
    assert h[j] > threshold and lo[j] > p2

    out = label_setup(setup, c, HOUR)

    expected_pnl = base * threshold * (1 - TAKER) - 200.0 * (1 + MAKER)
    assert out.filled and out.levels_filled == 2 and out.filled_quote == pytest.approx(200.0)
    assert out.entry_price == pytest.approx(avg, rel=1e-12)
    assert out.entry_ts == ts[fill]
    assert out.exit_reason == "TAKE_PROFIT"
    assert out.exit_price == pytest.approx(threshold, rel=1e-12)
    assert out.exit_ts == ts[j] + HOUR and out.hold_s == (j - fill + 1) * HOUR
    assert out.net_pnl_quote == pytest.approx(expected_pnl, rel=1e-10)
    assert out.net_return_frac == pytest.approx(expected_pnl / 200.0, rel=1e-10)
    assert out.fees_quote == pytest.approx(200.0 * MAKER + base * threshold * TAKER, rel=1e-10)
    assert out.mae_frac == pytest.approx(min(lo[fill:j + 1]) / avg - 1, rel=1e-12)


def test_dca_stop_loss_waits_for_every_level_like_maker_mode() -> None:
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, 1729875600)  # 2024-10-25 17:00 UTC
    ref = c["close"].iloc[i]
    p0, p1 = round(ref * 0.99, 2), round(ref * 0.85, 2)
    setup = _grid(c, i, [p0, p1], ExitRules(take_profit_frac=0.10, stop_loss_frac=0.03,
                                            time_limit_s=24 * HOUR))
    assert o[i + 1] > p0 >= lo[i + 1]  # level 0 fills on the first executor candle (maker)
    stop = p0 * (1 - 0.03 + MAKER)
    j = i + 6
    assert all(lo[k] > stop for k in range(i + 1, j)) and p1 < lo[j] <= stop
    end = i + 1 + 24
    assert all(lo[k] > p1 and h[k] <= p0 * (1 + 0.10 + MAKER) for k in range(i + 1, end))

    hummingbot = label_setup(setup, c, HOUR)
    eager = label_setup(setup, c, HOUR,
                        config=LabelConfig(dca_stop_loss_after_all_levels=False))

    base = 100.0 / p0
    assert hummingbot.levels_filled == 1 and hummingbot.exit_reason == "TIME_LIMIT"
    assert hummingbot.exit_price == o[end] and hummingbot.exit_ts == ts[end]
    assert hummingbot.net_pnl_quote == pytest.approx(
        base * o[end] * (1 - TAKER) - 100.0 * (1 + MAKER), rel=1e-10)
    assert eager.exit_reason == "STOP_LOSS" and eager.exit_ts == ts[j] + HOUR
    assert eager.exit_price == pytest.approx(stop, rel=1e-12)


def test_trailing_stop_arms_on_a_high_and_fires_on_a_later_low() -> None:
    c = _candles("ETH")
    o, h, lo, _, ts = _ohlc(c)
    i = _row(c, 1730145600)  # 2024-10-28 20:00 UTC
    setup = _market(c, i, ExitRules(take_profit_frac=0.15, stop_loss_frac=0.08,
                                    time_limit_s=48 * HOUR, trailing_activation_frac=0.02,
                                    trailing_delta_frac=0.01))
    entry = o[i + 1]

    def net(price: float) -> float:  # Hummingbot net pnl while open: entry fee included
        return price / entry - 1 - TAKER

    assert net(o[i + 1]) <= 0.02 and net(h[i + 1]) <= 0.02  # not armed on the entry candle
    assert net(h[i + 2]) > 0.02  # arms on the high of the next candle ...
    trigger = net(h[i + 2]) - 0.01
    trigger_price = entry * (1 + trigger + TAKER)
    assert lo[i + 2] < trigger_price  # ... whose own low (before its high) does not fire it
    assert o[i + 3] >= trigger_price > lo[i + 3]  # fires on the following candle's low

    out = label_setup(setup, c, HOUR)

    assert out.exit_reason == "TRAILING_STOP"
    assert out.exit_price == pytest.approx(trigger_price, rel=1e-12)
    assert out.exit_ts == ts[i + 3] + HOUR and out.hold_s == 3 * HOUR
    assert out.net_pnl_quote == pytest.approx(
        100.0 / entry * trigger_price * (1 - TAKER) - 100.0 * (1 + TAKER), rel=1e-10)


def test_no_fill_on_the_setup_candle() -> None:
    c = _candles("ETH")
    _, _, lo, close, ts = _ohlc(c)
    i = _row(c, 1729897200)  # 2024-10-25 23:00 UTC: its own low is far below its close
    level = round(close[i] * 0.99, 2)
    assert lo[i] < level
    assert all(lo[k] > level for k in range(i + 1, i + 1 + 24))
    setup = _grid(c, i, [level], ExitRules(0.03, 0.08, 24 * HOUR))

    out = label_setup(setup, c, HOUR)

    assert not out.filled and out.exit_reason == "NOT_FILLED"
    assert out.entry_ts is None and out.levels_filled == 0 and out.net_pnl_quote == 0.0
    assert math.isnan(out.net_return_frac) and not out.win
    assert math.isnan(out.best_take_profit_frac)
    assert out.exit_ts is None and out.labels_resolved_ts == ts[i + 1] + 24 * HOUR


def test_first_executor_candle_fills_marketable_levels_at_its_open_as_taker() -> None:
    c = _candles("ETH")
    o, h, lo, _, _ = _ohlc(c)
    i = _row(c, 1733472000)
    above = round(o[i + 1] * 1.01, 2)  # a buy limit above the market crosses when placed
    setup = _grid(c, i, [above], ExitRules(0.10, 0.10, 6 * HOUR))
    assert all(o[i + 1] * (1 - 0.10 + TAKER) < lo[k] and h[k] <= o[i + 1] * (1 + 0.10 + TAKER)
               for k in range(i + 1, i + 7))

    out = label_setup(setup, c, HOUR)

    base = 100.0 / above
    assert out.entry_price == o[i + 1] and out.filled_quote == pytest.approx(base * o[i + 1])
    assert out.exit_reason == "TIME_LIMIT"
    assert out.fees_quote == pytest.approx(base * o[i + 1] * TAKER + base * o[i + 7] * TAKER)


def test_position_still_open_at_the_data_end() -> None:
    c = _candles("ETH")
    i = len(c) - 5
    out = label_setup(_market(c, i, ExitRules(0.15, 0.12, 72 * HOUR)), c, HOUR)
    assert out.exit_reason == "OPEN_AT_END" and out.filled and not out.win
    assert out.exit_ts is None and math.isnan(out.net_return_frac)
    assert math.isnan(out.best_take_profit_frac) and out.best_hold_s is None
    assert out.labels_resolved_ts is None
    last = label_setup(_market(c, len(c) - 1, ExitRules(0.15, 0.12, 72 * HOUR)), c, HOUR)
    assert last.exit_reason == "OPEN_AT_END" and not last.filled


def test_tp_on_close_uses_the_close_for_the_take_profit() -> None:
    c = _candles("ETH")
    o, h, lo, close, _ = _ohlc(c)
    i = _row(c, 1733490000)  # 2024-12-06 13:00 UTC
    target = o[i + 1] * 1.03
    assert h[i + 1] < target <= h[i + 2] and close[i + 2] < target  # high first reaches it
    assert max(close[i + 1:i + 4]) < target <= close[i + 4]  # the close only two bars later
    assert min(lo[i + 1:i + 5]) > o[i + 1] * (1 - 0.10 + TAKER)
    batch = PositionBatch(
        entry_bar=np.array([i + 1]), market_entry=np.array([True]),
        level_price=np.array([[np.nan]]), level_quote=np.array([[100.0]]),
        n_levels=np.array([1]), take_profit_frac=np.array([0.03]),
        stop_loss_frac=np.array([0.10]), trailing_activation_frac=np.array([np.nan]),
        trailing_delta_frac=np.array([np.nan]), time_limit_bars=np.array([24]),
        tp_limit_order=np.array([True]), sl_needs_all_levels=np.array([False]))

    on_high = simulate_positions(o, h, lo, close, batch, MAKER, TAKER)
    on_close = simulate_positions(o, h, lo, close, batch, MAKER, TAKER, tp_on_close=True)

    assert on_high.exit_bar[0] == i + 2 and on_close.exit_bar[0] == i + 4
    assert on_high.exit_price[0] == pytest.approx(target) == on_close.exit_price[0]
    assert (on_high.filled_base == 100.0 / o[i + 1]).all()


# --------------------------------------------------------------------------- errors


def test_bar_index_must_match_the_setup_timestamp() -> None:
    c = _candles("ETH")
    good = _market(c, 500, ExitRules(0.05, 0.05, 24 * HOUR))
    bad = Setup(good.strategy, good.pair, good.timestamp + HOUR, good.bar_index,
                good.reference_price, good.entry, good.exits)
    with pytest.raises(ValueError, match=r"ETH-USDT.*swing:ETH-USDT:"):
        label_setups([good, bad], c, HOUR)


def test_bad_inputs_are_refused() -> None:
    c = _candles("ETH")
    setup = _market(c, 500, ExitRules(0.05, 0.05, 24 * HOUR))
    with pytest.raises(ValueError, match="one pair"):
        label_setups([setup, _market(c, 501, setup.exits, pair="BTC-USDT")], c, HOUR)
    with pytest.raises(ValueError, match="time_limit_s"):
        label_setups([_market(c, 500, ExitRules(0.05, 0.05, 1800))], c, HOUR)
    with pytest.raises(ValueError, match="row 10"):
        label_setups([setup], c.drop(index=10).reset_index(drop=True), HOUR)
    with pytest.raises(ValueError, match="descending"):
        label_setups([_grid(c, 500, [100.0, 101.0], setup.exits)], c, HOUR)


def test_empty_input_gives_the_columns() -> None:
    out = label_setups([], _candles("ETH"), HOUR)
    assert tuple(out.columns) == LABEL_COLUMNS and len(out) == 0


# --------------------------------------------------------------------------- reference replay


@cache
def _bar_lists(base: str) -> tuple[list[float], list[float], list[float], list[int]]:
    c = _candles(base)
    return (c["open"].tolist(), c["high"].tolist(), c["low"].tolist(),
            c["timestamp"].tolist())


class ReferencePosition:
    """Slow, plain-Python replay of the documented rules: one setup, one candle at a time.

    Written apart from the kernel (objects, lists, early returns) to cross-check it.
    """

    def __init__(self, setup: Setup, fees: FeeSchedule, cfg: LabelConfig, tp: float,
                 sl: float) -> None:
        rules = setup.exits
        self.market = setup.entry.entry_type == "market"
        order = cfg.position_take_profit_order if self.market else cfg.dca_take_profit_order
        self.tp_limit = order == "limit"
        self.sl_all = (not self.market) and cfg.dca_stop_loss_after_all_levels
        self.tp, self.sl, self.fees = tp, sl, fees
        self.act, self.delta = rules.trailing_activation_frac, rules.trailing_delta_frac
        self.amount = setup.entry.amounts_quote[0]
        self.levels = [] if self.market else list(zip(setup.entry.prices,
                                                      setup.entry.amounts_quote, strict=True))
        self.base = self.cost = self.fee = 0.0
        self.n = 0
        self.trigger: float | None = None
        self.hi, self.lo = -math.inf, math.inf
        self.first: int | None = None

    # state
    def buy(self, base: float, price: float, rate: float, bar: int) -> None:
        self.base += base
        self.cost += base * price
        self.fee += base * price * rate
        self.n += 1
        self.first = bar if self.first is None else self.first
        self.see(price)

    def see(self, price: float) -> None:
        if self.base > 0:
            self.hi, self.lo = max(self.hi, price), min(self.lo, price)

    def avg(self) -> float:
        return self.cost / self.base

    def fe(self) -> float:
        return self.fee / self.cost

    # barriers
    def protective(self) -> tuple[float, str] | None:
        """Highest protective exit (price, reason) while holding; the stop wins ties."""
        if self.base == 0:
            return None
        found = None
        if not self.sl_all or self.n == len(self.levels):
            found = (self.avg() * (1 - self.sl + self.fe()), "STOP_LOSS")
        if self.trigger is not None:
            price = self.avg() * (1 + self.trigger + self.fe())
            if found is None or price > found[0]:
                found = (price, "TRAILING_STOP")
        return found

    def fires_at(self, price: float) -> tuple[float, str] | None:
        guard = self.protective()
        if guard is None:
            return None
        hit = price <= guard[0] if guard[1] == "STOP_LOSS" else price < guard[0]
        return guard if hit else None

    def take_profit(self, price: float, at_open: bool) -> float | None:
        if self.base == 0:
            return None
        if self.tp_limit:
            level = self.avg() * (1 + self.tp)
            return level if price >= level else None
        level = self.avg() * (1 + self.tp + self.fe())
        if price > level:
            return price if at_open else level
        return None

    def trail(self, price: float) -> None:
        if self.act is None or self.delta is None or self.base == 0:
            return
        net = price / self.avg() - 1 - self.fe()
        if self.trigger is None:
            if net > self.act:
                self.trigger = net - self.delta
        elif net - self.delta > self.trigger:
            self.trigger = net - self.delta

    # one candle: (reason, price, at_open) or None
    def at_open(self, k: int, first: bool, o: float) -> tuple[str, float, bool] | None:
        if self.market and first:
            self.buy(self.amount / o, o, self.fees.taker_frac, k)
        for price, quote in self.levels[self.n:]:
            if price < o:
                break
            if first:
                self.buy(quote / price, o, self.fees.taker_frac, k)
            else:
                self.buy(quote / price, price, self.fees.maker_frac, k)
        if self.base == 0:
            return None
        self.see(o)
        if (guard := self.fires_at(o)) is not None:
            return guard[1], o, True
        if (price := self.take_profit(o, True)) is not None:
            return "TAKE_PROFIT", price, True
        self.trail(o)
        return None

    def down(self, k: int, o: float, low: float) -> tuple[str, float, bool] | None:
        cur = o
        for price, quote in self.levels[self.n:]:
            if price < low:
                break
            guard = self.protective()
            if guard is not None and guard[0] > price:
                self.see(min(guard[0], cur))
                return guard[1], min(guard[0], cur), False
            self.buy(quote / price, price, self.fees.maker_frac, k)
            cur = min(cur, price)
        if (guard := self.fires_at(low)) is not None:
            self.see(min(guard[0], cur))
            return guard[1], min(guard[0], cur), False
        self.see(low)
        return None

    def up(self, high: float) -> tuple[str, float, bool] | None:
        if (price := self.take_profit(high, False)) is not None:
            self.see(price)
            return "TAKE_PROFIT", price, False
        if self.base > 0:
            self.trail(high)
            self.see(high)
        return None

    def expire(self, o: float) -> tuple[str, float, bool]:
        if self.base == 0:
            return "NOT_FILLED", math.nan, True
        if (guard := self.fires_at(o)) is not None:
            return guard[1], o, True
        if (price := self.take_profit(o, True)) is not None:
            return "TAKE_PROFIT", price, True
        return "TIME_LIMIT", o, True

    def result(self, ts: list[int], interval_s: int, bar: int,
               end: tuple[str, float, bool]) -> dict[str, object]:
        reason, price, at_open = end
        out: dict[str, object] = {"reason": reason, "levels": self.n}
        if reason != "OPEN_AT_END":
            out["end_ts"] = ts[bar] + (0 if at_open else interval_s)
        if self.base == 0 or self.first is None:
            return out
        out.update(entry_price=self.avg(), entry_ts=ts[self.first], quote=self.cost,
                   mfe=self.hi / self.avg() - 1, mae=min(self.lo / self.avg() - 1, 0.0))
        if reason == "OPEN_AT_END":
            return out
        rate = self.fees.maker_frac if (reason == "TAKE_PROFIT" and self.tp_limit) \
            else self.fees.taker_frac
        pnl = self.base * price * (1 - rate) - self.cost - self.fee
        exit_ts = ts[bar] + (0 if at_open else interval_s)
        out.update(exit_price=price, pnl=pnl, ret=pnl / self.cost, exit_ts=exit_ts,
                   hold=exit_ts - ts[self.first])
        return out


def reference_replay(setup: Setup, base: str, interval_s: int, fees: FeeSchedule,
                     cfg: LabelConfig, tp: float | None = None,
                     sl: float | None = None) -> dict[str, object]:
    """Replay ``setup`` on the sample candles of ``base`` with :class:`ReferencePosition`."""
    o, h, lo, ts = _bar_lists(base)
    pos = ReferencePosition(setup, fees, cfg, setup.exits.take_profit_frac if tp is None else tp,
                            setup.exits.stop_loss_frac if sl is None else sl)
    start = setup.bar_index + 1
    expiry = start + setup.exits.time_limit_s // interval_s
    for k in range(start, len(o)):
        if k == expiry:
            return pos.result(ts, interval_s, k, pos.expire(o[k]))
        end = pos.at_open(k, k == start, o[k]) or pos.down(k, o[k], lo[k]) or pos.up(h[k])
        if end is not None:
            return pos.result(ts, interval_s, k, end)
    return pos.result(ts, interval_s, -1, ("OPEN_AT_END", math.nan, False))


def _mixed_setups(c: pd.DataFrame, pair: str, rows: Sequence[int]) -> list[Setup]:
    """Real setups of every kind: market with / without trailing, grids of 1-5 levels."""
    setups = []
    close = c["close"].to_numpy()
    for n, i in enumerate(rows):
        kind = n % 4
        if kind == 0:
            setups.append(_market(c, i, ExitRules(0.04, 0.03, 24 * HOUR), pair))
        elif kind == 1:
            setups.append(_market(c, i, ExitRules(0.08, 0.05, 48 * HOUR, 0.015, 0.01), pair))
        else:  # kind 2: tight grid from the close (marketable level 0); kind 3: wide grid
            levels = 1 + n % 5
            step = 0.005 if kind == 2 else 0.025
            prices = [round(close[i] * (1 - step * (j + kind - 2)), 6) for j in range(levels)]
            trailing = (0.02, 0.01) if n % 3 == 0 else (None, None)
            setups.append(_grid(c, i, prices, ExitRules(0.03, 0.06, 72 * HOUR, *trailing),
                                pair, quote=50.0 + 10 * (n % 5)))
    return setups


@pytest.mark.parametrize("base", ["BTC", "SOL", "DOGE"])
def test_kernel_matches_the_reference_replay(base: str) -> None:
    c = _candles(base)
    pair = f"{base}-USDT"
    n = len(c)
    rows = list(range(300, n, 23))[:500] + list(range(n - 60, n))  # include the data end
    setups = _mixed_setups(c, pair, rows)
    for cfg in (LabelConfig(), LabelConfig(position_take_profit_order="market",
                                           dca_stop_loss_after_all_levels=False)):
        out = label_setups(setups, c, HOUR, FEES, cfg)
        for setup, row in zip(setups, out.itertuples(index=False), strict=True):
            ref = reference_replay(setup, base, HOUR, FEES, cfg)
            where = f"{setup.setup_id} {cfg}"
            assert row.exit_reason == ref["reason"], where
            assert row.levels_filled == ref["levels"], where
            assert row.filled == ("entry_price" in ref), where
            if not row.filled:
                continue
            assert row.entry_ts == ref["entry_ts"], where
            np.testing.assert_allclose(
                [row.entry_price, row.filled_quote, row.mfe_frac, row.mae_frac],
                [ref["entry_price"], ref["quote"], ref["mfe"], ref["mae"]],
                rtol=1e-9, atol=1e-12, err_msg=where)
            if "pnl" in ref:
                assert row.exit_ts == ref["exit_ts"] and row.hold_s == ref["hold"], where
                np.testing.assert_allclose(
                    [row.exit_price, row.net_pnl_quote, row.net_return_frac],
                    [ref["exit_price"], ref["pnl"], ref["ret"]], rtol=1e-9, atol=1e-12,
                    err_msg=where)
                assert row.win == (ref["ret"] > 0), where
        assert set(out["exit_reason"]) >= {"TAKE_PROFIT", "STOP_LOSS", "TIME_LIMIT",
                                            "OPEN_AT_END"}


def test_best_exits_match_a_brute_force_reference_search() -> None:
    c = _candles("SOL")
    setups = _mixed_setups(c, "SOL-USDT", range(1500, 9000, 211))
    cfg = LabelConfig()
    out = label_setups(setups, c, HOUR, FEES, cfg)
    tps, sls = cfg.take_profit_grid(), cfg.stop_loss_grid()
    checked = 0
    for setup, row in zip(setups, out.itertuples(index=False), strict=True):
        best: tuple[float, float, float, int] | None = None
        unknown = False
        own = reference_replay(setup, "SOL", HOUR, FEES, cfg)
        ends = [own.get("end_ts", math.nan)]
        for sl in sls:  # tighter stop first, then nearer target; only a strictly better wins
            for tp in tps:
                ref = reference_replay(setup, "SOL", HOUR, FEES, cfg, tp=float(tp),
                                       sl=float(sl))
                ends.append(ref.get("end_ts", math.nan))
                if "pnl" not in ref:
                    unknown = True
                    break
                if best is None or ref["ret"] > best[0]:  # type: ignore[operator]
                    best = (ref["ret"], tp, sl, ref["hold"])  # type: ignore[assignment]
            if unknown:
                break
        latest = max(ends) if not any(math.isnan(e) for e in ends) else None
        assert (None if pd.isna(row.labels_resolved_ts) else row.labels_resolved_ts) == latest
        if latest is not None:  # never before the own exit, never after the time limit
            start = setup.timestamp + HOUR
            assert start < latest <= start + setup.exits.time_limit_s
            assert pd.isna(row.exit_ts) or latest >= row.exit_ts
        if unknown or best is None:
            assert math.isnan(row.best_take_profit_frac), setup.setup_id
            continue
        checked += 1
        assert row.best_take_profit_frac == best[1] and row.best_stop_loss_frac == best[2]
        assert row.best_hold_s == best[3], setup.setup_id
    assert checked >= 30


def test_best_exits_stay_within_the_configured_bounds() -> None:
    c = _candles("DOGE")
    setups = _mixed_setups(c, "DOGE-USDT", range(400, 12000, 37))
    for cfg in (LabelConfig(), LabelConfig(tp_grid_min_frac=0.02, tp_grid_max_frac=0.05,
                                           sl_grid_min_frac=0.03, sl_grid_max_frac=0.04,
                                           grid_step_frac=0.005)):
        out = label_setups(setups, c, HOUR, config=cfg).dropna(subset=["best_take_profit_frac"])
        assert len(out) > 200
        assert out["best_take_profit_frac"].between(cfg.tp_grid_min_frac,
                                                    cfg.tp_grid_max_frac).all()
        assert out["best_stop_loss_frac"].between(cfg.sl_grid_min_frac,
                                                  cfg.sl_grid_max_frac).all()
        assert out["best_take_profit_frac"].isin(cfg.take_profit_grid()).all()
        assert out["best_stop_loss_frac"].isin(cfg.stop_loss_grid()).all()
        assert (out["best_hold_s"] > 0).all()
        assert (out["mae_frac"] <= 0).all() and (out["mfe_frac"] >= 0).all()
