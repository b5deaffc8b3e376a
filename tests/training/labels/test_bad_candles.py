"""The candle guard in training: loaders flag bad candles (never alter them) and list the files
they skip; the dataset drops the setups whose windows touch a bad candle. On the shipped sample
with real candles edited, and on the real breaks of the shared 2017-2023 Binance set.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_signals.features import compute_features, lookback_bars, warmup_bars
from ml_signals.setups import STRATEGIES, make_detector
from training.data import CandleSet, load_candles, load_dir, load_freqtrade_feather
from training.labels.dataset import build_dataset, compute_pair_features

HOUR = 3600
WINDOW_S = (lookback_bars(HOUR) - 1) * HOUR  # what the newest row's features read
PRICES = ["open", "high", "low", "close"]


def utc(ts_s: int) -> str:
    return pd.Timestamp(ts_s, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


def write_spike(sample_dir: Path, tmp_path: Path, name: str, row: int,
                factor: float) -> tuple[Path, pd.DataFrame]:
    """A copy of a sample feather whose candle ``row`` opens at the previous close and closes at
    ``factor`` times it (OHLC consistent); returns the path and the edited raw frame."""
    raw = pd.read_feather(sample_dir / "binance" / name)
    prev = raw.loc[row - 1, "close"]
    close = prev * factor
    raw.loc[row, PRICES] = [prev, max(prev, close), min(prev, close), close]
    path = tmp_path / name
    raw.to_feather(path)
    return path, raw


# ---------------------------------------------------------------- loaders


def test_loader_flags_a_spike_and_keeps_it(sample_dir, tmp_path, caplog):
    path, raw = write_spike(sample_dir, tmp_path, "SOL_USDT-1h.feather", 4000, 6.0)
    with caplog.at_level(logging.WARNING, logger="training.data"):
        cs = load_freqtrade_feather(path)
    spike_s = int(raw.loc[4000, "date"].timestamp())
    assert [(b.row, b.timestamp_s, b.rule) for b in cs.bad_candles] == [
        (4000, spike_s, "close_move"), (4001, spike_s + HOUR, "close_move")]
    # never altered: the frame holds the file's values, the spike included
    np.testing.assert_array_equal(cs.frame[PRICES].to_numpy(), raw[PRICES].to_numpy())
    assert cs.bad_mask.sum() == 2 and cs.bad_mask[4000] and cs.bad_mask[4001]
    (message,) = [r.getMessage() for r in caplog.records if "bad candle" in r.getMessage()]
    assert "SOL-USDT" in message and f"{utc(spike_s)}: close_move" in message
    assert "+500.0%" in message
    assert cs.reflag(10.0).bad_candles == ()


def test_kraken_loader_flags_a_redenominated_tail(sample_dir, tmp_path):
    """Every line from 9000 on divided by 1000 (as SUN's redenomination): one candle flagged,
    at the first divided line's time."""
    lines = (sample_dir / "kraken" / "XBTUSD_60.csv").read_text().splitlines()
    out = []
    for k, line in enumerate(lines):
        cells = line.split(",")
        if k >= 8999:
            cells[1:5] = [repr(float(c) / 1000) for c in cells[1:5]]
        out.append(",".join(cells))
    path = tmp_path / "XBTUSD_60.csv"
    path.write_text("\n".join(out) + "\n")
    cs = load_candles(path)
    (bad,) = cs.bad_candles
    assert (bad.timestamp_s, bad.rule) == (int(lines[8999].split(",")[0]), "close_move")
    assert cs.frame["timestamp"].iat[bad.row] == bad.timestamp_s  # row in the gap-filled frame


def test_load_dir_lists_misnamed_files_and_short_pairs(sample_dir, tmp_path, caplog):
    binance = sample_dir / "binance"
    shutil.copy(binance / "BTC_USDT-1h.feather", tmp_path / "BTC_USDT-1h.feather")
    shutil.copy(binance / "ETH_USDT-1h.feather", tmp_path / "eth_usdt-1h.feather")
    shutil.copy(binance / "DOGE_USDT-1h.feather", tmp_path / "DOGE_USDT-1H.feather")
    (tmp_path / "README.md").write_text("not candles\n")
    short = pd.read_feather(binance / "SOL_USDT-1h.feather")
    warmup = warmup_bars(HOUR)
    short.iloc[:warmup].reset_index(drop=True).to_feather(tmp_path / "SOL_USDT-1h.feather")
    short.iloc[:warmup + 1].reset_index(drop=True).to_feather(tmp_path / "XRP_USDT-1h.feather")
    with caplog.at_level(logging.WARNING, logger="training.data"):
        loaded = load_dir(tmp_path, "1h")

    assert sorted(loaded) == ["BTC-USDT", "XRP-USDT"]  # 301 candles: one row past the warm-up
    skipped = {Path(s.path).name: s for s in loaded.skipped}
    assert sorted(skipped) == ["DOGE_USDT-1H.feather", "SOL_USDT-1h.feather",
                               "eth_usdt-1h.feather"]
    assert "rename it ETH_USDT-1h.feather" in skipped["eth_usdt-1h.feather"].reason
    assert "rename it DOGE_USDT-1h.feather" in skipped["DOGE_USDT-1H.feather"].reason
    assert "[file_name]" in skipped["eth_usdt-1h.feather"].reason
    sol = skipped["SOL_USDT-1h.feather"]
    assert sol.pair == "SOL-USDT" and f"{warmup} candles" in sol.reason
    warned = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(warned) == 3
    assert all(any(name in w for w in warned) for name in skipped)
    assert loaded.report()[:3] == [s.describe() for s in loaded.skipped]
    assert isinstance(loaded, dict) and loaded["BTC-USDT"].pair == "BTC-USDT"


# ---------------------------------------------------------------- dataset


def _touches(ts: int, label_end: int, bad_own: list[int], bad_btc: list[int]) -> bool:
    own = any(ts - WINDOW_S <= b <= max(label_end, ts) for b in bad_own)
    return own or any(ts - WINDOW_S <= b <= ts for b in bad_btc)


def _bad_times(cs: CandleSet) -> list[int]:
    return [int(b.timestamp_s) for b in cs.bad_candles]


@pytest.fixture(scope="module")
def spiked_sets(sample_binance) -> dict[str, CandleSet]:
    """BTC, ETH and SOL from the sample; SOL with a +500 % candle, and BTC with a +60 % one 50
    hours before an ETH channel setup of the real data (so that setup reads it)."""
    sets = {p: sample_binance[p] for p in ("BTC-USDT", "ETH-USDT", "SOL-USDT")}
    btc, eth = sets["BTC-USDT"].frame, sets["ETH-USDT"].frame
    eth_setups = make_detector("channel").detect(
        "ETH-USDT", eth, compute_features(eth, btc, HOUR))
    btc_row = int(np.searchsorted(btc["timestamp"], eth_setups[len(eth_setups) // 2].timestamp
                                  - 50 * HOUR))
    out = {}
    for pair, row, factor in (("SOL-USDT", 6000, 6.0), ("BTC-USDT", btc_row, 1.6)):
        frame = sets[pair].frame.copy()
        prev = frame.loc[row - 1, "close"]
        close = prev * factor
        frame.loc[row, PRICES] = [prev, max(prev, close), min(prev, close), close]
        out[pair] = replace(sets[pair], frame=frame).reflag(0.5)
    out["ETH-USDT"] = sets["ETH-USDT"]
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_dataset_drops_setups_whose_windows_touch_a_bad_candle(spiked_sets, strategy):
    guarded = compute_pair_features(spiked_sets, "BTC-USDT")
    unflagged = compute_pair_features({p: cs.reflag(1e9) for p, cs in spiked_sets.items()},
                                      "BTC-USDT")
    kept = build_dataset(strategy, guarded)
    everything = build_dataset(strategy, unflagged)
    assert everything.dropped_bad_candles == {}

    bad_btc = _bad_times(spiked_sets["BTC-USDT"])
    expected: dict[str, int] = {}
    expected_ids = []
    for row in everything.frame.itertuples():
        own = _bad_times(spiked_sets[row.pair])
        if _touches(int(row.timestamp), int(row.label_end_s), own,
                    [] if row.pair == "BTC-USDT" else bad_btc):
            expected[row.pair] = expected.get(row.pair, 0) + 1
        else:
            expected_ids.append(row.setup_id)
    assert kept.dropped_bad_candles == expected
    assert kept.frame["setup_id"].tolist() == expected_ids
    assert [s.setup_id for s in kept.setups] == expected_ids
    print(f"{strategy}: {len(everything.frame)} setups, dropped {expected}")


def test_some_setup_is_dropped_on_every_spiked_pair(spiked_sets):
    """The edits fall where setups are found: the drop is exercised on SOL (own candle) and on
    ETH (BTC's candle in its feature window)."""
    features = compute_pair_features(spiked_sets, "BTC-USDT")
    dropped: dict[str, int] = {}
    for strategy in STRATEGIES:
        for pair, n in build_dataset(strategy, features).dropped_bad_candles.items():
            dropped[pair] = dropped.get(pair, 0) + n
    assert dropped.get("SOL-USDT", 0) > 0 and dropped.get("ETH-USDT", 0) > 0


# ---------------------------------------------------------------- shared 2017-2023 data set

KNOWN_BREAKS = {
    # ../shared/data/README.md: redenominations and a halt
    "COCOS-USDT": "2021-01-23 02:00 UTC",
    "SUN-USDT": "2021-06-18 04:00 UTC",
    "BTCST-USDT": "2021-03-19 07:00 UTC",
}


@pytest.fixture(scope="module")
def long_history(shared_data_dir: Path):
    return load_dir(shared_data_dir / "binance_2017_2023", "1h")


def test_every_flagged_candle_of_the_long_history(long_history):
    """Lists every candle the guard flags across the 297 pairs (printed per pair) and checks
    the three known breaks are among them."""
    flagged = {pair: cs.bad_candles for pair, cs in long_history.items() if cs.bad_candles}
    print(f"\n{sum(len(b) for b in flagged.values())} bad candles on {len(flagged)} of "
          f"{len(long_history)} pairs (skipped files: {len(long_history.skipped)})")
    for pair, bad in flagged.items():
        known = "  <- known break" if pair in KNOWN_BREAKS else ""
        print(f"{pair}: {len(bad)}{known}")
        for b in bad:
            print(f"    {b.when} {b.rule}: {b.detail}")
    for pair, when in KNOWN_BREAKS.items():
        assert any(b.when == when and b.rule == "close_move" for b in flagged[pair]), pair
    # the data set's README: no OHLC violation, non-positive price or duplicate; only moves
    rules = {b.rule for bad in flagged.values() for b in bad}
    assert rules <= {"close_move", "open_gap"}


def test_no_training_setup_touches_a_known_break(long_history):
    """Setups of the three strategies on the break pairs (Dec 2020 .. Aug 2021, BTC as the
    reference): none left whose feature or label window holds a break."""
    start = int(pd.Timestamp("2020-12-01", tz="UTC").timestamp())
    end = int(pd.Timestamp("2021-08-01", tz="UTC").timestamp())
    sets = {}
    for pair in ("BTC-USDT", *KNOWN_BREAKS):
        cs = long_history[pair]
        ts = cs.frame["timestamp"]
        part = cs.frame[(ts >= start) & (ts < end)].reset_index(drop=True)
        sets[pair] = replace(cs, frame=part).reflag(cs.max_move_frac)
    features = compute_pair_features(sets, "BTC-USDT")
    total = {}
    for strategy in STRATEGIES:
        data = build_dataset(strategy, features)
        for row in data.frame.itertuples():
            own = _bad_times(sets[row.pair])
            assert not _touches(int(row.timestamp), int(row.label_end_s), own, []), row.setup_id
        for pair, n in data.dropped_bad_candles.items():
            total[pair] = total.get(pair, 0) + n
    print(f"\nsetups dropped around the known breaks: {total}")
    assert set(total) <= set(KNOWN_BREAKS) and sum(total.values()) > 0
