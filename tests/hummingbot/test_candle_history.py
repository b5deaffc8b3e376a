"""``max_records``: the bounds of :mod:`ml_signals.hummingbot.candle_history` hold on real
candles and in Hummingbot's own Kraken feed, and every shipped config sits inside them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest
import yaml
from hummingbot.data_feed.candles_feed.kraken_spot_candles.kraken_spot_candles import (
    KrakenSpotCandles,
)

import hummingbot_scripts.ml_channel as channel_script
import hummingbot_scripts.ml_portfolio as portfolio_script
import hummingbot_scripts.ml_swing as swing_script
from ml_signals.feature_parts.windows import EMA_SLOPE_BARS, EMA_WINDOW_BARS
from ml_signals.features import (
    LIVE_WINDOW_ATOL,
    LIVE_WINDOW_RTOL,
    MAX_LIVE_BARS,
    compute_features,
    warmup_bars,
)
from ml_signals.hummingbot import candle_history
from ml_signals.setups import ChannelConfig, DcaConfig, SwingConfig
from training.data import CandleSet

HOUR = 3600


def _newest_row_gap(frame: pd.DataFrame, btc: pd.DataFrame, full: pd.DataFrame, t: int,
                    closed: int) -> float:
    """Largest |live - full| / tolerance on row ``t`` from the last ``closed`` candles."""
    live = frame.iloc[t - closed + 1: t + 1]
    live_btc = btc[btc["timestamp"] <= live["timestamp"].iloc[-1]].iloc[-closed:]
    got = compute_features(live, live_btc).iloc[-1].to_numpy()
    want = full.iloc[t].to_numpy()
    return float(np.nanmax(np.abs(got - want) / (LIVE_WINDOW_ATOL
                                                 + LIVE_WINDOW_RTOL * np.abs(want))))


def test_closed_candles_needed_make_features_equal_training(
        sample_binance: dict[str, CandleSet]) -> None:
    """On the shipped real candles the newest row from ``closed_bars`` candles equals the
    full-history row within the live-window tolerance; one candle fewer does not (the EMA
    slopes move), so the lower bound is the smallest that works."""
    need = candle_history.history_need(HOUR, [])
    btc = sample_binance["BTC-USDT"].frame
    end = int(btc["timestamp"].iloc[-1])
    worst_at_need, worst_below = 0.0, 0.0
    for pair in ("ETH-USDT", "DOGE-USDT"):
        frame = sample_binance[pair].frame
        frame = frame[frame["timestamp"] <= end]
        full = compute_features(frame, btc)
        for t in np.random.default_rng(705).integers(MAX_LIVE_BARS, len(frame), size=6):
            worst_at_need = max(worst_at_need,
                                _newest_row_gap(frame, btc, full, int(t), need.closed_bars))
            worst_below = max(worst_below,
                              _newest_row_gap(frame, btc, full, int(t), need.closed_bars - 1))
    assert worst_at_need <= 1.0
    assert worst_below > 1.0


def test_history_need_components() -> None:
    need = candle_history.history_need(HOUR, [DcaConfig(), SwingConfig(), ChannelConfig()])
    assert need.warmup_bars == warmup_bars(HOUR)
    assert need.ema_bars == EMA_WINDOW_BARS + EMA_SLOPE_BARS
    assert need.detector_bars == ChannelConfig().window_bars
    assert need.min_max_records == need.closed_bars + 1 == need.ema_bars + 1
    assert candle_history.history_need(HOUR, [SwingConfig()]).detector_bars == 0
    quarter = candle_history.history_need(900, [])
    assert quarter.slope_lag_bars == 16 and quarter.warmup_bars == warmup_bars(900)
    assert (need.min_max_records <= candle_history.DEFAULT_MAX_RECORDS
            <= candle_history.KRAKEN_MAX_RECORDS < MAX_LIVE_BARS)


def _kraken_request(max_records: int, first_ws_candles_back: int) -> dict:
    """The history request Hummingbot's Kraken feed builds (``fill_historical_candles`` ->
    ``fetch_candles`` -> ``_get_rest_candles_params``) when its first websocket candle opened
    ``first_ws_candles_back`` candles before the current one (1: the one that just closed)."""
    feed = KrakenSpotCandles("BTC-USD", "1h", max_records=max_records)
    interval = feed.interval_in_seconds
    first_ws = feed._round_timestamp_to_interval_multiple(
        int(time.time()) - first_ws_candles_back * interval)
    missing = max_records - 1
    to_fetch = min(feed.candles_max_result_per_rest_request, missing)
    start = feed._calculate_start_time(first_ws - interval * to_fetch)
    return feed._get_rest_candles_params(start, feed._calculate_end_time(first_ws))


def test_kraken_feed_fills_at_the_bound_and_fails_at_720() -> None:
    """Hummingbot's Kraken feed refuses the request of a 720-candle feed whose first websocket
    candle is the one that just closed (its fill loop then stops for good); the largest
    accepted value leaves one candle close of margin."""
    with pytest.raises(ValueError, match="more than 720 candles ago"):
        _kraken_request(MAX_LIVE_BARS, first_ws_candles_back=1)
    assert _kraken_request(candle_history.KRAKEN_MAX_RECORDS + 1, first_ws_candles_back=1)
    assert _kraken_request(candle_history.KRAKEN_MAX_RECORDS, first_ws_candles_back=1)
    assert _kraken_request(candle_history.DEFAULT_MAX_RECORDS, first_ws_candles_back=10)


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[2].glob(
    "conf/scripts/conf_ml_*.yml")), ids=lambda p: p.name)
def test_shipped_configs_sit_inside_the_bounds(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    need = candle_history.history_need(HOUR, [])
    assert data["candles_connector"] == "kraken" and data["candles_interval"] == "1h"
    assert need.min_max_records <= data["max_records"] <= candle_history.KRAKEN_MAX_RECORDS
    assert "PR #8259" in path.read_text()  # the reason stays next to the value


def test_script_default_is_valid() -> None:
    config = swing_script.MlSwingConfig()
    assert config.max_records == candle_history.DEFAULT_MAX_RECORDS


@pytest.mark.parametrize("changes, message", [
    ({"max_records": 704}, "max_records 704 is too small at 1h"),
    ({"max_records": 704}, "use 705..718"),
    ({"max_records": 300}, "300-candle feature warm-up"),
    ({"max_records": 719}, "exceeds 718 on Kraken candles"),
    ({"max_records": 720}, "PR #8259"),
    ({"max_records": 716, "candles_interval": "15m"}, "use 717..718"),
    ({"max_records": 719, "candles_connector": "binance", "candles_interval": "15m"},
     None),
    ({"max_records": 717, "candles_interval": "15m"}, None),
    ({"max_records": 705}, None),
])
def test_max_records_bounds(changes: dict, message: str | None) -> None:
    if message is None:
        assert swing_script.MlSwingConfig(**changes).max_records == changes["max_records"]
        return
    with pytest.raises(pydantic.ValidationError) as excinfo:
        swing_script.MlSwingConfig(**changes)
    assert message in str(excinfo.value)


def test_channel_window_is_named_when_a_channel_runs() -> None:
    for config_cls in (channel_script.MlChannelConfig, portfolio_script.MlPortfolioConfig):
        with pytest.raises(pydantic.ValidationError, match="channel detector's 48-candle"):
            config_cls(max_records=600)
