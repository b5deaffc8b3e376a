"""The loopback Kraken speaks what Hummingbot's own Kraken code reads (fast; in ``make test``).

Hummingbot's ``kraken_paper_trade`` connector (order books via ``KrakenAPIOrderBookDataSource``,
trading rules via ``KrakenExchange``) and its ``KrakenSpotCandles`` feed run in this process with
their URLs pointed at the server (module attributes patched for the test only).
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("hummingbot.connector.exchange.paper_trade",
                    reason="compiled Hummingbot package not installed")

from hummingbot.client.settings import AllConnectorSettings  # noqa: E402
from hummingbot.connector.exchange.kraken import kraken_constants  # noqa: E402
from hummingbot.connector.exchange.paper_trade import create_paper_trade_market  # noqa: E402
from hummingbot.data_feed.candles_feed.kraken_spot_candles import (  # noqa: E402
    constants as candles_constants,
)
from hummingbot.data_feed.candles_feed.kraken_spot_candles.kraken_spot_candles import (  # noqa: E402
    KrakenSpotCandles,
)
from windows import kraken_frames  # noqa: E402

from tests.servers.kraken_like import KrakenLikeServer, PairSpec  # noqa: E402

FIRST_REPLAY_TS = 1_611_896_400  # 2021-01-29 05:00 UTC, inside the shipped Kraken sample


@pytest.fixture
def kraken(sample_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """The server replaying 6 candles at 0.4 s each, Hummingbot's Kraken URLs pointed at it."""
    specs = {"BTC-USD": PairSpec("BTC-USD", ordermin_base="0.002", lot_decimals=4)}
    with KrakenLikeServer(kraken_frames(sample_dir), FIRST_REPLAY_TS, 6, 0.4,
                          specs=specs) as server:
        monkeypatch.setattr(kraken_constants, "BASE_URL", server.rest_url)
        monkeypatch.setattr(kraken_constants, "WS_URL", server.ws_url)
        monkeypatch.setattr(candles_constants, "REST_URL", server.rest_url)
        monkeypatch.setattr(candles_constants, "WSS_URL", server.ws_url)
        yield server


async def _until(predicate, limit_s: float = 30.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return False


def test_paper_connector_books_rules_and_candles_follow_the_replay(kraken, sample_dir):
    frame = kraken_frames(sample_dir)["BTC-USD"]
    start = int(frame.index[frame["timestamp"] == FIRST_REPLAY_TS][0])

    async def scenario():
        exchange = create_paper_trade_market("kraken", ["BTC-USD", "ETH-USD"])
        exchange.order_book_tracker.start()
        feed = KrakenSpotCandles("BTC-USD", "1h", 320)
        await feed.start_network()
        rules_source = AllConnectorSettings.get_connector_settings()[
            "kraken"].non_trading_connector_instance_with_default_configuration(
            trading_pairs=["BTC-USD"])
        try:
            await rules_source._update_trading_rules()
            ready = await _until(lambda: exchange.ready and feed.ready)
            history = feed.candles_df.copy()
            ask_before = float(exchange.get_price("BTC-USD", True))
            kraken.start_replay()
            replayed = await _until(lambda: kraken.replay_done.is_set()
                                    and len(feed.candles_df) and feed.candles_df[
                                        "timestamp"].iat[-1] == kraken.served_ts(
                                        int(frame["timestamp"].iat[start + 5])))
            after = feed.candles_df.copy()
            bid = float(exchange.get_price("BTC-USD", False))
            ask = float(exchange.get_price("BTC-USD", True))
            return (ready, history, ask_before, replayed, after, bid, ask,
                    rules_source.trading_rules["BTC-USD"])
        finally:
            await feed.stop_network()
            exchange.order_book_tracker.stop()
            await rules_source.stop_network()

    ready, history, ask_before, replayed, after, bid, ask, rule = asyncio.run(scenario())
    assert ready and replayed
    # history: the 320 candles before the replay, real OHLC at served (shifted) times
    assert len(history) == 320
    real = frame.iloc[start - 320:start].reset_index(drop=True)
    assert (history["timestamp"] - real["timestamp"] == kraken.offset_s).all()
    assert history["close"].tolist() == pytest.approx(real["close"].tolist())
    assert kraken.offset_s % 3600 == 0  # whole hours: candles stay on the hour grid
    assert history["timestamp"].iat[-1] + 3600 <= time.time()  # every candle already closed
    # the book sat around the last history close, then followed the replay to its last close
    assert ask_before == pytest.approx(real["close"].iat[-1], rel=0.001)
    last_close = float(frame["close"].iat[start + 5])
    assert bid < last_close < ask and ask / bid - 1 < 0.001
    assert after["close"].iat[-1] == pytest.approx(last_close)
    assert after["timestamp"].diff().dropna().eq(3600).all()
    # trading rules from AssetPairs, as Hummingbot's Kraken connector reads them
    assert rule.min_order_size == Decimal("0.002")
    assert rule.min_base_amount_increment == Decimal("1e-4")
    assert rule.min_price_increment == Decimal("0.1")
