"""The unmodified Hummingbot client trades our scripts against a loopback Kraken, end to end.

Per script (``ml_swing``, ``ml_dca_grid``; rules-only: ``models_dir`` is an empty folder):

1. the detectors find, offline, a setup in the shipped real Kraken candles as the live feed would
   show it (:mod:`windows`);
2. a :class:`~tests.servers.kraken_like.KrakenLikeServer` replays that stretch (history, then one
   candle every 2 s with the book walking each candle's path) and a Slack-like server answers
   Slack's Web API, both on 127.0.0.1;
3. a child process runs Hummingbot headless as ``hummingbot_quickstart.py --headless --v2`` does
   (:mod:`headless_client`): password, ``conf/conf_client.yml`` with the repo's paper-trade
   section, our ``scripts/`` and the script's YAML in a temporary root; ``kraken_paper_trade``
   with its order books, trading rules and ticker from the loopback Kraken, the ``kraken``
   candles feed from it too;
4. the runtime sees the setup, scores it, creates an executor; the entry fills on the paper
   exchange against the loopback book; the executor closes (take profit, stop loss or its
   30-40 s time limit); the console's ``stop`` ends the bot.

Checked afterwards, from what the components wrote: the journal's SQLite rows (setup, prediction,
trade), the alerts the Slack-like server accepted, Hummingbot's own trade-fill database (every
fill a whole number of the fetched amount steps and at least the minimum order size), and that
Hummingbot's ``create_paper_trade_market`` builds its own class again after the stop.

What compressed time does to the run (not errors): every replayed candle is days old on the
wall clock, so the candle watchdog sends one "No candles" alert per candle and pair to
``#system-alerts``; and the paper exchange executes a market order 5 s after it is placed
(``PaperTradeExchange.TRADE_EXECUTION_DELAY``), 2.5 replayed candles later, so a close can fill
well away from the barrier that triggered it.

Slow (1.5-2 minutes per script): marked ``e2e``, outside the default run; ``make e2e`` runs it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from client_root import build_root
from windows import Window, dca_first_level_fills, find_window, kraken_frames

from ml_signals import setups
from ml_signals.vol_exits import VolatilityExits
from tests.servers.kraken_like import KrakenLikeServer, PairSpec
from tests.servers.slack_like import DEFAULT_TOKEN, SlackLikeServer

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
MAX_RECORDS = 705  # the least a script accepts at 1h (training-equal features): the feed's
# history (max_records + 1 candles before the first live one) must fit in the 720 candles
# Kraken serves before the wall clock, so the setup candle is anchored just before now
LEAD = 3  # replayed candles before the setup candle
REPLAY_BARS = 25
SECONDS_PER_CANDLE = 2.0
CHILD_LIMIT_S = 240.0  # the child gives up waiting after this; the test kills it 60 s later
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_TRADES",
              "SLACK_WEBHOOK_URL_REPORTS", "SLACK_WEBHOOK_URL_SYSTEM", "SLACK_BASE_URL",
              "SUPABASE_URL", "SUPABASE_SERVICE_KEY", "SUPABASE_KEY", "JOURNAL_BACKEND")


COARSE_LOTS = {
    # Coarser than Kraken's 8 lot decimals (and than the paper exchange's own 1e-7 rounding),
    # so an order that ignored the rules would show in its amount.
    "BTC-USD": PairSpec("BTC-USD", ordermin_base="0.002", lot_decimals=4, pair_decimals=1),
    "ETH-USD": PairSpec("ETH-USD", ordermin_base="0.02", lot_decimals=3, pair_decimals=2),
}


@dataclass(frozen=True)
class Case:
    """One script of the test: its detector section in the YAML and the settings used."""

    strategy: str
    section: str
    detector: setups.SwingConfig | setups.DcaConfig
    follow_check: Any = None


CASES = {
    # Small barriers so a close comes within seconds; no trailing stop (it needs +7 %).
    "ml_swing": Case("swing", "swing", setups.SwingConfig(
        take_profit_frac=0.01, stop_loss_frac=0.01, time_limit_s=30,
        trailing_activation_frac=None, trailing_delta_frac=None)),
    # Two levels 0.5 % apart; the window is one where the next candles trade through level 1.
    # $150 a level: above the coarse 0.002 BTC minimum at the sample's prices (a level under
    # the minimum is skipped with reason trading_rules, as the runtime must)
    # fixed 1 % exits (volatility scaling off) so the grid closes inside the short window
    "ml_dca_grid": Case("dca", "dca", setups.DcaConfig(
        levels=2, spacing_frac=0.005, amount_per_level_quote=150.0, take_profit_frac=0.01,
        stop_loss_frac=0.01, time_limit_s=40,
        volatility_exits=VolatilityExits(enabled=False)), dca_first_level_fills),
}


def _overrides(case: Case, root: Path) -> dict[str, Any]:
    return {
        "trading_pairs": ["BTC-USD", "ETH-USD"], "btc_pair": "BTC-USD",
        "max_records": MAX_RECORDS, "models_dir": str(root / "models"),
        "no_model_policy": "rules_only",  # an empty models folder: trade every setup, say so
        # Compressed time: the replayed candles are days old on the wall clock.
        "max_decision_delay_s": 10 ** 8,
        "cancel_unfilled_after_s": 60,
        case.section: case.detector.model_dump(),
        "paper_trading_rules": {"fetch_from_exchange": True},
        "alerts": {"enabled": True, "destination": "slack",
                   "outbox_path": str(root / "data" / "alerts_outbox.sqlite")},
        "journal": {"enabled": True, "backend": "sqlite",
                    "sqlite_path": str(root / "data" / "journal.sqlite"),
                    "spool_path": str(root / "data" / "journal_spool.sqlite")},
    }


def _run_client(root: Path, conf: str, kraken: KrakenLikeServer,
                slack: SlackLikeServer) -> tuple[dict[str, Any], list[str]]:
    """Run the headless client; start the replay when it is ready; its summary and output."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env.update(E2E_CONFIG_PASSWORD="e2e-password",  # noqa: S106 - local throw-away root
               SLACK_BOT_TOKEN=DEFAULT_TOKEN, SLACK_BASE_URL=slack.api_base_url,
               PYTHONPATH=os.pathsep.join([str(HERE.parents[1]), env.get("PYTHONPATH", "")]))
    command = [sys.executable, str(HERE / "headless_client.py"), "--root", str(root),
               "--conf", conf, "--rest", kraken.rest_url, "--ws", kraken.ws_url,
               "--timeout-s", str(CHILD_LIMIT_S)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE,  # noqa: S603 - our own script
                            stderr=subprocess.STDOUT, text=True, env=env)
    killer = threading.Timer(CHILD_LIMIT_S + 60, proc.kill)  # a hung child cannot hang CI
    killer.start()
    lines: list[str] = []
    summary: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("E2E-READY"):
                kraken.start_replay()
            elif line.startswith("E2E-SUMMARY "):
                summary = json.loads(line.split(" ", 1)[1])
        proc.wait()
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
    return summary, lines


def _journal(path: Path) -> dict[str, list[sqlite3.Row]]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return {table: db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names
                for table in ("strategy_setups", "ml_predictions", "trades")}


def _trade_fills(root: Path, conf: str) -> list[sqlite3.Row]:
    """Hummingbot's own record of every fill (``MarketsRecorder``, ``data/<conf>.sqlite``;
    it stores amounts to 6 decimals only)."""
    with sqlite3.connect(root / "data" / f"{conf.removesuffix('.yml')}.sqlite") as db:
        db.row_factory = sqlite3.Row
        return db.execute('SELECT * FROM "TradeFill" ORDER BY timestamp').fetchall()


def _report(script: str, window: Window, kraken: KrakenLikeServer, summary: dict[str, Any],
            journal: dict[str, list[sqlite3.Row]], alerts: dict[str, int],
            fills: list[sqlite3.Row]) -> None:
    """Print the chain setup -> score -> executor -> fill -> close with the counts."""
    print(f"\n=== {script}: window of {window.pair} around real candle {window.setup_ts} "
          f"(served as {kraken.served_ts(window.setup_ts)}) ===")
    for row in journal["strategy_setups"]:
        print(f"setup      {row['setup_id']} taken={row['taken']} skip={row['skip_reason']}")
    for row in journal["ml_predictions"]:
        print(f"score      {row['setup_id']} model={row['model_version']} "
              f"TP={row['take_profit_frac']:.2%} SL={row['stop_loss_frac']:.2%}")
    for info in summary["executors"]:
        print(f"executor   {info['type']} {info['id']} {info['pair']} "
              f"amount_base={info['amount_base']} prices={info['prices']} "
              f"amounts_quote={info['amounts_quote']}")
    for order in summary["orders"]:
        for fill in order["fills"]:
            print(f"fill       {order['side']} {order['type']} {float(fill['amount']):.10g} "
                  f"{order['pair']} @ {float(fill['price']):.10g} (order amount "
                  f"{float(order['amount']):.10g}, {order['state']})")
    for info in summary["executors"]:
        print(f"close      {info['id']} {info['close_type']} net pnl "
              f"{info['net_pnl_quote']:+.2f} quote")
    for row in journal["trades"]:
        print(f"journal    trade {row['trade_id']} {row['close_type']} "
              f"pnl {row['pnl_quote']:+.2f}")
    counts = {table: len(rows) for table, rows in journal.items()}
    print(f"alerts on Slack: {sum(alerts.values())} {alerts}; journal rows: {counts}; "
          f"Hummingbot fills: {len(fills)}")


@pytest.mark.parametrize("script", sorted(CASES))
def test_client_trades_on_loopback_kraken(script: str, sample_dir: Path, tmp_path: Path) -> None:
    case = CASES[script]
    frames = kraken_frames(sample_dir)
    window = find_window(frames, case.strategy, case.detector, MAX_RECORDS, LEAD,
                         REPLAY_BARS, case.follow_check)
    root = tmp_path / "hummingbot"
    root.mkdir()
    (root / "models").mkdir()  # empty: rules-only
    conf = build_root(root, script, _overrides(case, root))
    with SlackLikeServer() as slack, KrakenLikeServer(
            frames, window.first_replay_ts, REPLAY_BARS, SECONDS_PER_CANDLE,
            specs=COARSE_LOTS, anchor_bars=LEAD) as kraken:
        summary, output = _run_client(root, conf, kraken, slack)
        accepted = slack.accepted()
        replayed = kraken.replay_started.is_set()
    assert summary.get("started"), "\n".join(output[-60:])
    journal = _journal(root / "data" / "journal.sqlite")
    fills = _trade_fills(root, conf)
    alerts: dict[str, int] = {}
    for message in accepted:
        alerts[message.channel] = alerts.get(message.channel, 0) + 1
    _report(script, window, kraken, summary, journal, alerts, fills)

    # the client ran on the loopback exchange, with its rules
    assert replayed and summary["ready"]
    assert summary["connector_class"] == "ExecutorPaperTradeExchange"
    rule = summary["trading_rules"][window.pair]
    assert rule["min_order_size"] == kraken.specs[window.pair].ordermin_base  # from AssetPairs
    # setup -> score: the candle found offline, detected live (served timestamps)
    setup_id = f"{case.strategy}:{window.pair}:{kraken.served_ts(window.setup_ts)}"
    setups_by_id = {row["setup_id"]: row for row in journal["strategy_setups"]}
    assert setup_id in setups_by_id, sorted(setups_by_id)
    assert setups_by_id[setup_id]["taken"] == 1
    assert any(p["setup_id"] == setup_id for p in journal["ml_predictions"])
    # -> executor -> fill -> close
    ours = [e for e in summary["executors"] if e["level_id"] == setup_id]
    assert len(ours) == 1, summary["executors"]
    executor = ours[0]
    assert executor["status"] == "TERMINATED"
    assert executor["close_type"] in {"TAKE_PROFIT", "STOP_LOSS", "TIME_LIMIT",
                                      "TRAILING_STOP"}
    assert executor["filled_amount_quote"] > 0
    trades = [t for t in journal["trades"] if t["setup_id"] == setup_id]
    assert len(trades) == 1 and trades[0]["closed_s"] is not None
    assert trades[0]["close_type"] == executor["close_type"]
    # fills obey the exchange's rules (the loopback's coarse amount step and minimum size), as
    # the paper exchange reported them; Hummingbot's trade database has the same fills
    step, minimum = Decimal(rule["min_base_amount_increment"]), Decimal(rule["min_order_size"])
    tick = Decimal(rule["min_price_increment"])
    orders = [o for o in summary["orders"] if o["pair"] == window.pair and o["fills"]]
    assert {o["side"] for o in orders} == {"BUY", "SELL"}, summary["orders"]
    for order in orders:  # market orders first seen at their fill carry the float amount
        amount = Decimal(repr(float(order["amount"])))
        assert amount % step == 0 and amount >= minimum, order
        if order["type"] == "LIMIT" and order["side"] == "BUY":  # our DCA levels
            assert Decimal(order["price"]) % tick == 0, order
        for fill in order["fills"]:  # the paper exchange fills through float book rows
            assert Decimal(repr(float(fill["amount"]))) % step == 0, order
    assert len(fills) == sum(len(o["fills"]) for o in summary["orders"])
    # alerts reached the Slack-like server: the trade's open and close, the system channel
    texts = [m.text for m in accepted if m.channel == "#ml-signals"]
    assert any("Trade Opened" in t for t in texts) and any("Trade Closed" in t for t in texts)
    assert alerts.get("#system-alerts", 0) >= 1
    # after the stop, Hummingbot builds its own paper connector again
    assert summary["after_stop_is_hummingbot_class"], summary["after_stop_factory_class"]
