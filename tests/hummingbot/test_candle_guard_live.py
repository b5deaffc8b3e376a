"""The candle guard on the live decision path: scripts' runtimes driven hour by hour over real
candles with one candle made bad (the shipped Kraken sample) and over the real market breaks of
the shared 2017-2023 Binance set (COCOS x978, SUN /900, BTCST -88 % after a halt).

Each runtime is built from a script config (rules-only) with alerts on the log-only destination
and a temporary outbox; the sender is never started, so every alert waits in the outbox file,
which the tests read back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hb_support import SampleView
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction

import hummingbot_scripts.ml_dca_grid as dca_script
import hummingbot_scripts.ml_portfolio as portfolio_script
import hummingbot_scripts.ml_swing as swing_script
from ml_signals.alerts.outbox import Outbox, OutboxRow
from ml_signals.features import lookback_bars, warmup_bars
from training.data import load_candles

HOUR = 3600
WINDOW_BARS = lookback_bars(HOUR)
NO_MODELS = str(Path(__file__).parent / "no_models")
BAD_BAR = 2061
"""Row of the sample's ETH-USD frame made bad (2021-03-27 21:00 UTC): there, a +500 % candle
makes the swing detector fire and a -80 % candle the DCA detector (see the counterfactual
tests); the 720 candles before it fill a live feed."""

SCRIPTS = {"dca": dca_script.MlDcaGridConfig, "swing": swing_script.MlSwingConfig,
           "portfolio": portfolio_script.MlPortfolioConfig}


def _prev_close(frame: pd.DataFrame, row: int) -> float:
    return float(frame["close"].iat[row - 1])


def _set(frame: pd.DataFrame, row: int, **values: float) -> None:
    for col, value in values.items():
        frame.loc[row, col] = value


MUTATIONS: dict[str, tuple[Callable[[pd.DataFrame, int], None], str]] = {
    # name: (edit of the real candle at ``row``, rule the guard must name)
    "nan_close": (lambda f, r: _set(f, r, close=float("nan")), "nan"),
    "zero_close": (lambda f, r: _set(f, r, close=0.0, low=0.0), "non_positive_price"),
    "negative_low": (lambda f, r: _set(f, r, low=-float(f["low"].iat[r])), "non_positive_price"),
    "high_below_body": (lambda f, r: _set(f, r, high=float(f[["open", "close"]].iloc[r].mean())),
                        "high_below_open_close"),
    "up_500_pct": (lambda f, r: _set(f, r, open=_prev_close(f, r), low=_prev_close(f, r),
                                     high=6 * _prev_close(f, r), close=6 * _prev_close(f, r)),
                   "close_move"),
    "down_80_pct": (lambda f, r: _set(f, r, open=_prev_close(f, r), high=_prev_close(f, r),
                                      low=0.2 * _prev_close(f, r), close=0.2 * _prev_close(f, r)),
                    "close_move"),
}


def mutated(frames: dict[str, pd.DataFrame], pair: str, rows: list[int],
            name: str) -> dict[str, pd.DataFrame]:
    """Copies of ``frames`` with ``pair``'s candles at ``rows`` edited by ``MUTATIONS[name]``."""
    out = {p: f.copy() for p, f in frames.items()}
    for row in rows:
        MUTATIONS[name][0](out[pair], row)
    return out


def build(script: str, tmp_path: Path, pairs: list[str], btc_pair: str = "BTC-USD",
          **overrides: object):
    config = SCRIPTS[script](
        trading_pairs=pairs, btc_pair=btc_pair, models_dir=NO_MODELS, no_model_policy="rules_only",
        alerts={"enabled": True, "destination": "log",
                "outbox_path": str(tmp_path / "outbox.sqlite")}, **overrides)
    return config.build_runtime()


def drive(runtime, view: SampleView, start_s: float, end_s: float) -> list[CreateExecutorAction]:
    """One tick 10 s after every candle close from ``start_s`` to ``end_s``; the creates."""
    created: list[CreateExecutorAction] = []
    now = start_s
    while now <= end_s:
        view.now_s = now
        created += [a for a in runtime.on_tick(now, view, [])
                    if isinstance(a, CreateExecutorAction)]
        now += HOUR
    return created


def guard_alerts(outbox_path: Path) -> list[OutboxRow]:
    outbox = Outbox(outbox_path)
    try:
        return [r for r in outbox.rows() if r.key.startswith("guard:candle_guard:")]
    finally:
        outbox.close()


def utc(ts_s: int) -> str:
    return pd.Timestamp(ts_s, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def decision_time(frame: pd.DataFrame, row: int) -> float:
    """Clock time of the decision on ``frame``'s candle ``row``: 10 s after its close."""
    return float(frame["timestamp"].iat[row]) + HOUR + 10


def touches(action: CreateExecutorAction, bad_s: int) -> bool:
    """Does the feature window of the setup behind ``action`` hold the candle at ``bad_s``?"""
    candle_s = int(action.executor_config.level_id.rsplit(":", 1)[1])
    return candle_s - (WINDOW_BARS - 1) * HOUR <= bad_s <= candle_s



# ------------------------------------------------------------- mutated copies of real candles


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_bad_candle_never_reaches_an_executor(kraken_frames, tmp_path, caplog, name):
    """The decision on a bad candle and every later one whose window holds it are skipped:
    no executor, the bad candle logged once with pair, time and rule, one alert."""
    frames = mutated(kraken_frames, "ETH-USD", [BAD_BAR], name)
    rule = MUTATIONS[name][1]
    bad_ts = int(frames["ETH-USD"]["timestamp"].iat[BAD_BAR])
    runtime = build("portfolio", tmp_path, ["ETH-USD"])
    view = SampleView(frames)
    start = decision_time(frames["ETH-USD"], BAD_BAR)
    with caplog.at_level(logging.DEBUG, logger="ml_signals"):
        created = drive(runtime, view, start, start + 5 * HOUR)  # the bad candle and 5 more
    runtime.close()

    assert created == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
              and f"bad candle {utc(bad_ts)}" in r.getMessage()]
    assert len(warned) == 1  # logged once, though six decisions were skipped for it
    assert warned[0].startswith("ETH-USD decision on candle") and f": {rule}: " in warned[0]
    guard = runtime.candle_guard
    assert guard.skipped == {"ETH-USD": 6} and guard.episodes == {"ETH-USD": 1}
    status = runtime.format_status(start + 5 * HOUR, [])
    assert "candle guard: 6 decision(s) skipped in 1 episode(s)" in status
    assert "Candle guard: 6 decision(s) skipped on 1 pair(s)" in status
    (alert,) = guard_alerts(tmp_path / "outbox.sqlite")
    assert alert.role == "system" and "ETH-USD" in alert.text and rule in alert.text
    assert utc(bad_ts) in alert.text


@pytest.mark.parametrize(("name", "script", "controller"),
                         [("up_500_pct", "swing", "swing"), ("down_80_pct", "dca", "dca")])
def test_without_the_move_bound_the_same_candle_opens_an_executor(
        kraken_frames, tmp_path, name, script, controller):
    """The counterfactual: with the bound set out of reach, the +500 % candle opens a swing
    position and the -80 % candle places a DCA grid at a fifth of the real price; with the
    plan's 50 % nothing is proposed."""
    frames = mutated(kraken_frames, "ETH-USD", [BAD_BAR], name)
    now = decision_time(frames["ETH-USD"], BAD_BAR)
    loose = build(script, tmp_path / "loose", ["ETH-USD"], max_candle_move_frac=1e6)
    created = drive(loose, SampleView(frames), now, now)
    loose.close()
    assert [a.controller_id for a in created] == [controller]
    real_close = float(kraken_frames["ETH-USD"]["close"].iat[BAD_BAR])
    config = created[0].executor_config
    if script == "dca":
        assert float(config.prices[0]) == pytest.approx(0.2 * _prev_close(
            kraken_frames["ETH-USD"], BAD_BAR))
        assert float(config.prices[0]) < 0.3 * real_close
    guarded = build(script, tmp_path / "guarded", ["ETH-USD"])
    assert drive(guarded, SampleView(frames), now, now) == []
    guarded.close()


def test_one_alert_per_episode_and_decisions_resume(kraken_frames, tmp_path, caplog):
    """A bad candle skips the pair until it leaves the feature window; decisions then resume;
    a second bad candle later opens a second episode with its own alert."""
    second = BAD_BAR + WINDOW_BARS + 50
    frames = mutated(kraken_frames, "ETH-USD", [BAD_BAR, second], "up_500_pct")
    eth = frames["ETH-USD"]
    runtime = build("dca", tmp_path, ["ETH-USD"])
    view = SampleView(frames)
    start, end = decision_time(eth, BAD_BAR), decision_time(eth, second + 2)
    with caplog.at_level(logging.INFO, logger="ml_signals.candle_guard_live"):
        created = drive(runtime, view, start, end)
    runtime.close()

    guard = runtime.candle_guard
    # the move is also flagged on the candle after each spike (measured from the spike's close)
    first_clean = BAD_BAR + 1 + WINDOW_BARS
    assert guard.episodes == {"ETH-USD": 2}
    assert guard.skipped == {"ETH-USD": (first_clean - BAD_BAR) + 3}
    assert len(guard_alerts(tmp_path / "outbox.sqlite")) == 2
    resumed = [m for m in caplog.messages if "clean again" in m]
    assert len(resumed) == 1 and utc(int(eth["timestamp"].iat[first_clean])) in resumed[0]
    bad_times = {int(eth["timestamp"].iat[r]) for r in (BAD_BAR, BAD_BAR + 1, second,
                                                        second + 1)}
    # entries placed between the episodes come from clean windows
    assert not any(touches(a, t) for a in created for t in bad_times)


def test_a_bad_btc_candle_skips_every_pair(kraken_frames, tmp_path):
    """BTC's candles feed every pair's regime and BTC features: a bad BTC candle skips the
    other pairs too, naming BTC's candle."""
    frames = mutated(kraken_frames, "BTC-USD", [BAD_BAR], "nan_close")
    runtime = build("dca", tmp_path, ["ETH-USD"])
    now = decision_time(frames["BTC-USD"], BAD_BAR)
    assert drive(runtime, SampleView(frames), now, now + HOUR) == []
    runtime.close()
    skip = runtime.candle_guard.last["ETH-USD"]
    assert (skip.pair, skip.bad_pair, skip.bad.rule) == ("ETH-USD", "BTC-USD", "nan")
    assert runtime.candle_guard.skipped == {"ETH-USD": 2}


# ------------------------------------------------------------- real market breaks, replayed

BREAKS = [
    # (pair, open time of the break candle, UTC) - ../shared/data/README.md
    ("COCOS-USDT", "2021-01-23 02:00"),
    ("SUN-USDT", "2021-06-18 04:00"),
    ("BTCST-USDT", "2021-03-19 07:00"),
]


@pytest.fixture(scope="module")
def long_history(shared_data_dir: Path) -> dict[str, pd.DataFrame]:
    folder = shared_data_dir / "binance_2017_2023"
    return {cs.pair: cs.frame for cs in (load_candles(folder / f"{base}_USDT-1h.feather")
                                         for base in ("BTC", "COCOS", "SUN", "BTCST"))}


@pytest.mark.parametrize(("pair", "when"), BREAKS, ids=[b[0] for b in BREAKS])
def test_real_breaks_are_skipped_when_replayed(long_history, tmp_path, caplog, pair, when):
    """Hour by hour from two candles before the break to two after it left the window: with
    the plan's bound nothing is entered on a window holding the break, which is logged and
    alerted once; with the bound out of reach the same runtime enters on those windows."""
    frames = {p: long_history[p] for p in ("BTC-USDT", pair)}
    frame = frames[pair]
    break_s = int(pd.Timestamp(when, tz="UTC").timestamp())
    row = int(frame.index[frame["timestamp"] == break_s][0])
    assert row > warmup_bars(HOUR) + 2  # decisions (past the warm-up) before the break
    start, end = decision_time(frame, row - 2), decision_time(frame, row + WINDOW_BARS + 2)
    runtime = build("portfolio", tmp_path / "guarded", [pair], btc_pair="BTC-USDT")
    with caplog.at_level(logging.WARNING, logger="ml_signals"):
        created = drive(runtime, SampleView(frames), start, end)
    runtime.close()
    loose = build("portfolio", tmp_path / "loose", [pair], btc_pair="BTC-USDT",
                  max_candle_move_frac=1e6)
    unguarded = drive(loose, SampleView(frames), start, end)
    loose.close()

    assert not any(touches(a, break_s) for a in created)
    assert any(touches(a, break_s) for a in unguarded)
    guard = runtime.candle_guard
    assert guard.episodes == {pair: 1} and guard.skipped[pair] >= WINDOW_BARS
    assert any(pair in m and f"bad candle {utc(break_s)}: close_move" in m
               for m in caplog.messages)
    (alert,) = guard_alerts(tmp_path / "guarded" / "outbox.sqlite")
    assert pair in alert.text and utc(break_s) in alert.text
    print(f"{pair}: break {utc(break_s)}: guarded {guard.skipped[pair]} decisions skipped, "
          f"{len(created)} entries; unguarded "
          f"{sum(touches(a, break_s) for a in unguarded)} entries on windows holding it")


def test_a_skipped_decision_resets_the_feature_state_which_rebuilds_clean(kraken_frames,
                                                                          tmp_path):
    """The incremental feature state of a pair whose decision the guard skips is dropped; the
    first clean decision rebuilds it from the window the features read, and from there it is
    pushed one candle at a time again, equal to ``compute_features`` on the live frame."""
    from ml_signals.candles import closed_frame
    from ml_signals.features import compute_features

    frames = mutated(kraken_frames, "ETH-USD", [BAD_BAR], "up_500_pct")
    eth = frames["ETH-USD"]
    runtime = build("dca", tmp_path, ["ETH-USD"])
    view = SampleView(frames)
    first_clean = BAD_BAR + 1 + WINDOW_BARS
    drive(runtime, view, decision_time(eth, BAD_BAR - 3), decision_time(eth, BAD_BAR - 1))
    assert runtime.features.rebuilds == {"ETH-USD": 1, "BTC-USD": 1}
    drive(runtime, view, decision_time(eth, BAD_BAR), decision_time(eth, first_clean - 1))
    assert runtime.candle_guard.skipped["ETH-USD"] == first_clean - BAD_BAR
    assert "ETH-USD" not in runtime.features._states  # dropped on the skip
    end = decision_time(eth, first_clean + 3)
    drive(runtime, view, decision_time(eth, first_clean), end)
    runtime.close()
    assert runtime.features.rebuilds["ETH-USD"] == 2
    assert runtime.features.pushes["ETH-USD"] == 2 + 3  # before the episode, after the rebuild
    s = runtime.settings
    view.now_s = end
    frame = closed_frame(view.candles("ETH-USD"), HOUR, end - s.candle_close_delay_s)
    btc = closed_frame(view.candles("BTC-USD"), HOUR, end - s.candle_close_delay_s)
    btc = btc[btc["timestamp"] <= frame["timestamp"].iat[-1]]
    got = runtime.features.features("ETH-USD", frame, btc).iloc[-1]
    want = compute_features(frame, btc, HOUR).iloc[-1]
    assert runtime.features.pushes["ETH-USD"] == 5  # the same frame: nothing new to push
    pd.testing.assert_series_equal(got, want, rtol=1e-7, atol=1e-8)
