"""ml_signals.features on the real candle sample: no look-ahead, live window = history, shape,
warm-up, definitions the detectors rely on, BTC regime, interval scaling."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_signals import features
from ml_signals.features import (
    FEATURE_COLUMNS,
    LIVE_WINDOW_ATOL,
    LIVE_WINDOW_RTOL,
    MAX_LIVE_BARS,
    WARMUP_BARS,
    btc_regime_series,
    compute_features,
    feature_code_hash,
    warmup_bars,
)
from ml_signals.regime import BtcRegime
from training.data import CandleSet, load_freqtrade_feather

PAIRS = ("BTC-USDT", "ETH-USDT", "DOGE-USDT", "LINK-USDT")


@pytest.fixture(scope="module")
def frames(sample_binance: dict[str, CandleSet]) -> dict[str, pd.DataFrame]:
    """Sample frames cut at BTC's last candle (some pairs run a few hours past it, and their
    BTC columns are then NaN by design, see test_btc_columns_follow_btc_by_timestamp)."""
    btc_end = int(sample_binance["BTC-USDT"].frame["timestamp"].iloc[-1])
    return {pair: cs.frame[cs.frame["timestamp"] <= btc_end] for pair, cs in sample_binance.items()}


@pytest.fixture(scope="module")
def btc(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["BTC-USDT"]


@pytest.fixture(scope="module")
def batch(frames: dict[str, pd.DataFrame], btc: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Full-history features of every sample pair against the full BTC frame."""
    return {pair: compute_features(frame, btc) for pair, frame in frames.items()}


def _btc_until(btc: pd.DataFrame, timestamp: int) -> pd.DataFrame:
    return btc[btc["timestamp"] <= timestamp]


def _assert_rows_equal(got: pd.Series, want: pd.Series, rtol: float, atol: float) -> None:
    close = np.isclose(got.to_numpy(), want.to_numpy(), rtol=rtol, atol=atol, equal_nan=True)
    bad = [(name, got[name], want[name]) for name in got.index[~close]]
    assert not bad, f"differs (column, got, want): {bad}"


# --- no look-ahead ------------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
def test_row_t_from_prefix_equals_batch(
    pair: str,
    frames: dict[str, pd.DataFrame],
    btc: pd.DataFrame,
    batch: dict[str, pd.DataFrame],
) -> None:
    """Row t from candles[:t+1] (and BTC <= t) equals row t of the whole-history batch, which
    was computed with the full BTC frame, i.e. with BTC candles after t available."""
    frame = frames[pair]
    rng = np.random.default_rng(20260219)
    after = rng.choice(np.arange(WARMUP_BARS, len(frame)), size=30, replace=False)
    inside = np.array([0, 25, WARMUP_BARS // 2, WARMUP_BARS - 1])
    edges = np.array([WARMUP_BARS, WARMUP_BARS + 1, len(frame) - 1])
    for t in np.concatenate([inside, edges, after]):
        prefix = frame.iloc[: t + 1]
        got = compute_features(prefix, _btc_until(btc, int(prefix["timestamp"].iloc[-1])))
        _assert_rows_equal(got.iloc[-1], batch[pair].iloc[t], rtol=1e-9, atol=1e-12)


def test_changing_future_candles_leaves_past_rows(
    frames: dict[str, pd.DataFrame], btc: pd.DataFrame
) -> None:
    """Scaling every pair and BTC candle after row t changes nothing at or before t."""
    frame = frames["SOL-USDT"]
    t = 6000
    cut = int(frame["timestamp"].iloc[t])
    price_cols = ["open", "high", "low", "close"]

    def shocked(f: pd.DataFrame) -> pd.DataFrame:
        out = f.copy()
        later = out["timestamp"] > cut
        out.loc[later, price_cols] *= 0.5
        out.loc[later, "volume"] *= 10.0
        return out

    base = compute_features(frame, btc)
    moved = compute_features(shocked(frame), shocked(btc))
    pd.testing.assert_frame_equal(moved.iloc[: t + 1], base.iloc[: t + 1], check_exact=True)
    assert not moved.iloc[t + 1 :].equals(base.iloc[t + 1 :])


# --- live window ----------------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
def test_live_window_matches_full_history(
    pair: str,
    frames: dict[str, pd.DataFrame],
    btc: pd.DataFrame,
    batch: dict[str, pd.DataFrame],
) -> None:
    """The newest row of a 720-candle feed equals the full-history row within the documented
    tolerance (EMAs are windowed, so only float rounding separates them)."""
    frame = frames[pair]
    rng = np.random.default_rng(720)
    ends = np.concatenate(
        [
            [len(frame) - 1, MAX_LIVE_BARS - 1, MAX_LIVE_BARS + 5],
            rng.integers(MAX_LIVE_BARS, len(frame), size=20),
        ]
    )
    for t in ends:
        live = frame.iloc[t - MAX_LIVE_BARS + 1 : t + 1]
        live_btc = _btc_until(btc, int(live["timestamp"].iloc[-1])).iloc[-MAX_LIVE_BARS:]
        got = compute_features(live, live_btc).iloc[-1]
        assert got.notna().all(), f"row {t}: NaN in a full live window: {got[got.isna()]}"
        _assert_rows_equal(got, batch[pair].iloc[t], rtol=LIVE_WINDOW_RTOL, atol=LIVE_WINDOW_ATOL)


# --- shape, warm-up, values ---------------------------------------------------------------


def test_columns_dtype_and_index(frames: dict[str, pd.DataFrame], btc: pd.DataFrame) -> None:
    window = frames["XRP-USDT"].iloc[-MAX_LIVE_BARS:]  # index starts far from 0
    out = compute_features(window, btc)
    assert tuple(out.columns) == FEATURE_COLUMNS
    assert out.index.equals(window.index)
    assert (out.dtypes == np.float64).all()
    assert len(set(FEATURE_COLUMNS)) == len(FEATURE_COLUMNS)


def test_names_carry_units() -> None:
    unitless = {
        "rsi_14",
        "htf_uptrend",
        "trend_alignment_score",
        "btc_regime",
        "liquidity_tier",
        "volume_ratio_20",
        "btc_corr_72_bars",
    }
    pattern = re.compile(r".*(_frac|_quote|_bars)$")
    assert [c for c in FEATURE_COLUMNS if c not in unitless and not pattern.match(c)] == []


@pytest.mark.parametrize(
    "pair", ["BTC-USDT", "ETH-USDT", "DOGE-USDT", "LINK-USDT", "SOL-USDT", "XRP-USDT"]
)
def test_warmup_nan_then_all_defined_and_finite(pair: str, batch: dict[str, pd.DataFrame]) -> None:
    out = batch[pair]
    assert out.iloc[:WARMUP_BARS].isna().all().all()
    after = out.iloc[WARMUP_BARS:]
    assert after.notna().all().all(), after.isna().sum()[after.isna().sum() > 0]
    assert np.isfinite(after.to_numpy()).all()


def test_warmup_values() -> None:
    assert WARMUP_BARS == warmup_bars(3600) == 300
    assert WARMUP_BARS < MAX_LIVE_BARS
    assert warmup_bars(900) < MAX_LIVE_BARS
    for unsupported in (300, 86400):  # 5m: 7-day high needs 2016 candles; 1d: 4h window
        with pytest.raises(ValueError):
            warmup_bars(unsupported)


def test_short_input_is_all_nan(frames: dict[str, pd.DataFrame]) -> None:
    short = frames["ETH-USDT"].iloc[:WARMUP_BARS]
    out = compute_features(short)
    assert out.shape == (WARMUP_BARS, len(FEATURE_COLUMNS))
    assert out.isna().all().all()


def test_division_by_zero_gives_nan_not_inf(
    frames: dict[str, pd.DataFrame], btc: pd.DataFrame
) -> None:
    """A real stretch with its volume set to 0 for 30 hours: the volume ratio and the 24h
    quote volume divide by / log zero and must come out NaN."""
    frame = frames["LINK-USDT"].iloc[:2000].copy()
    frame.loc[1000:1029, "volume"] = 0.0
    out = compute_features(frame, btc)
    assert np.isinf(out.to_numpy()).sum() == 0
    assert out.loc[1025:1029, "volume_ratio_20"].isna().all()
    assert out.loc[1023:1029, "log10_volume_24h_quote"].isna().all()
    assert out.loc[1023:1029, "liquidity_tier"].eq(0).all()


def test_deterministic(frames: dict[str, pd.DataFrame], btc: pd.DataFrame) -> None:
    frame = frames["DOGE-USDT"]
    pd.testing.assert_frame_equal(
        compute_features(frame, btc), compute_features(frame, btc), check_exact=True
    )


def test_discrete_columns_take_their_codes(batch: dict[str, pd.DataFrame]) -> None:
    out = pd.concat(batch.values()).dropna()  # drops the warm-up rows
    assert len(out) > 6 * 10000
    assert set(out["htf_uptrend"].unique()) <= {0.0, 1.0}
    assert set(out["liquidity_tier"].unique()) <= {0.0, 1.0, 2.0}
    assert set(out["btc_regime"].unique()) <= {float(r) for r in BtcRegime}
    assert out["trend_alignment_score"].between(-1, 1).all()
    assert out["drop_from_4h_high_frac"].le(0).all()
    assert out["rsi_14"].between(0, 100).all()


# --- definitions the setup detectors rely on -----------------------------------------------


def test_price_level_definitions(frames: dict[str, pd.DataFrame], btc: pd.DataFrame) -> None:
    frame = frames["SOL-USDT"]
    out = compute_features(frame, btc).iloc[WARMUP_BARS:]
    rows = frame.iloc[WARMUP_BARS:]
    high, low, close, volume = (frame[c] for c in ("high", "low", "close", "volume"))
    expected = {
        "drop_from_4h_high_frac": close / high.rolling(4).max() - 1,
        "support_dist_48h_frac": close / low.shift(1).rolling(48).min() - 1,
        "resistance_dist_48h_frac": close / high.shift(1).rolling(48).max() - 1,
        "volume_ratio_20": volume / volume.shift(1).rolling(20).mean(),
        "ret_24_bars_frac": close / close.shift(24) - 1,
    }
    for name, values in expected.items():
        np.testing.assert_allclose(out[name], values.loc[rows.index], rtol=1e-12, err_msg=name)


def test_htf_uptrend_follows_its_definition(batch: dict[str, pd.DataFrame]) -> None:
    out = batch["ETH-USDT"].iloc[WARMUP_BARS:]
    expected = (out["close_vs_ema_80h_frac"] > 0) & (out["ema_80h_slope_4h_frac"] > 0)
    assert (out["htf_uptrend"] == expected.astype(float)).all()
    assert 0.2 < out["htf_uptrend"].mean() < 0.8  # both states occur on real data


def test_btc_self_reference(btc: pd.DataFrame) -> None:
    alone = compute_features(btc)
    pd.testing.assert_frame_equal(alone, compute_features(btc, btc), check_exact=True)
    pd.testing.assert_frame_equal(alone, compute_features(btc, btc.copy()), check_exact=True)
    corr = alone["btc_corr_72_bars"].iloc[WARMUP_BARS:]
    np.testing.assert_allclose(corr, 1.0, atol=1e-9)
    np.testing.assert_array_equal(alone["btc_ret_24h_frac"], alone["ret_24_bars_frac"])


def test_btc_columns_follow_btc_by_timestamp(
    sample_binance: dict[str, CandleSet], btc: pd.DataFrame, batch: dict[str, pd.DataFrame]
) -> None:
    """LINK's sample runs past BTC's; BTC columns must come from the BTC row with the same
    timestamp, and be NaN once BTC is more than one candle behind."""
    link, own = sample_binance["LINK-USDT"].frame, batch["BTC-USDT"]
    link_out = compute_features(link, btc)
    assert len(link) > len(btc)
    joined = (
        link[["timestamp"]]
        .reset_index(names="pair_row")
        .merge(btc[["timestamp"]].reset_index(names="btc_row"), on="timestamp")
    )
    assert len(joined) > 10000
    got = link_out.loc[joined["pair_row"]]
    want = own.loc[joined["btc_row"]]
    for name in (
        "btc_regime",
        "btc_ret_24h_frac",
        "btc_drawdown_7d_frac",
        "btc_close_vs_ema200_frac",
    ):
        np.testing.assert_array_equal(got[name].to_numpy(), want[name].to_numpy(), name)
    after_btc = link_out[link["timestamp"] > btc["timestamp"].iloc[-1] + 3600]
    assert len(after_btc) > 0
    assert after_btc[["btc_regime", "btc_ret_24h_frac", "btc_corr_72_bars"]].isna().all().all()
    assert after_btc[["rsi_14", "htf_uptrend"]].notna().all().all()


def test_lagging_btc_feed(frames: dict[str, pd.DataFrame], btc: pd.DataFrame) -> None:
    """BTC one candle behind: the previous BTC row is used; two behind: BTC columns NaN."""
    live = frames["ETH-USDT"].iloc[-MAX_LIVE_BARS:]
    newest = int(live["timestamp"].iloc[-1])
    fresh = compute_features(live, _btc_until(btc, newest))
    one_behind = compute_features(live, _btc_until(btc, newest - 3600)).iloc[-1]
    two_behind = compute_features(live, _btc_until(btc, newest - 7200)).iloc[-1]
    btc_cols = [
        "btc_regime",
        "btc_ret_24h_frac",
        "btc_drawdown_7d_frac",
        "btc_close_vs_ema200_frac",
    ]
    np.testing.assert_array_equal(one_behind[btc_cols], fresh.iloc[-2][btc_cols])
    assert two_behind[btc_cols + ["btc_corr_72_bars"]].isna().all()
    assert two_behind.drop(btc_cols + ["btc_corr_72_bars"]).notna().all()


# --- BTC regime -------------------------------------------------------------------------------


def test_regime_codes_and_crash_rule(btc: pd.DataFrame, batch: dict[str, pd.DataFrame]) -> None:
    regime = btc_regime_series(btc)
    assert str(regime.dtype) == "Int64" and regime.index.equals(btc.index)
    assert regime.iloc[:WARMUP_BARS].isna().all() and regime.iloc[WARMUP_BARS:].notna().all()
    codes = regime.iloc[WARMUP_BARS:].astype(int)
    assert set(codes.unique()) <= {int(r) for r in BtcRegime}
    # The rule, recomputed from raw candles.
    close = btc["close"]
    ret_24h = close / close.shift(24) - 1
    drawdown_7d = close / btc["high"].rolling(168).max() - 1
    crash = ((ret_24h <= -0.10) | (drawdown_7d <= -0.15)).iloc[WARMUP_BARS:]
    assert ((codes == BtcRegime.CRASH) == crash).all()
    # The sample covers the early-February 2026 sell-off: at least one crash day there.
    days = pd.to_datetime(btc.loc[crash[crash].index, "timestamp"], unit="s")
    assert ((days >= "2026-02-01") & (days < "2026-02-10")).any()
    for other in (BtcRegime.BULL, BtcRegime.BEAR, BtcRegime.NEUTRAL):
        assert (codes == other).any()
    np.testing.assert_array_equal(
        batch["BTC-USDT"]["btc_regime"].to_numpy(),
        regime.astype("float64").to_numpy(na_value=np.nan),
    )


def test_regime_trend_rule(batch: dict[str, pd.DataFrame]) -> None:
    out = batch["BTC-USDT"].iloc[WARMUP_BARS:]
    not_crash = out[out["btc_regime"] != BtcRegime.CRASH]
    bull = not_crash[not_crash["btc_regime"] == BtcRegime.BULL]
    bear = not_crash[not_crash["btc_regime"] == BtcRegime.BEAR]
    assert (bull["btc_close_vs_ema200_frac"] > 0).all()
    assert (bear["btc_close_vs_ema200_frac"] < 0).all()


# --- inputs, interval, code hash --------------------------------------------------------------


def test_bad_frames_are_refused(frames: dict[str, pd.DataFrame]) -> None:
    frame = frames["ETH-USDT"].iloc[:400]
    with pytest.raises(ValueError, match="candles: row 200 "):
        compute_features(frame.drop(index=200))
    with pytest.raises(ValueError, match="missing columns"):
        compute_features(frame.drop(columns="volume"))
    with pytest.raises(ValueError, match="btc_candles: row 1 "):
        compute_features(frame, frame.iloc[::-1])
    with pytest.raises(ValueError, match="step of 900s"):
        compute_features(frame, interval_s=900)


def test_hour_windows_scale_with_interval(shared_data_dir: Path, btc: pd.DataFrame) -> None:
    """At 15m the 4h high spans 16 candles, the 24h return 96, the 7-day high 672: on the
    last 15m candle of each hour (open at :45) they equal the 1h values of that hour, because
    an exchange's 1h candle aggregates the four 15m ones."""
    path = shared_data_dir / "binance" / "BTC_USDT-15m.feather"
    if not path.exists():
        pytest.skip(f"{path} not found")
    quarter = load_freqtrade_feather(path).frame
    q_out = compute_features(quarter, interval_s=900)
    h_out = compute_features(btc)
    assert q_out.iloc[: warmup_bars(900)].isna().all().all()
    assert q_out.iloc[warmup_bars(900) :].notna().all().all()
    last_quarter = quarter[quarter["timestamp"] % 3600 == 2700]
    pairs = pd.DataFrame(
        {"timestamp": last_quarter["timestamp"].to_numpy() - 2700, "q": last_quarter.index}
    ).merge(btc[["timestamp"]].reset_index(names="h"), on="timestamp")
    both = (
        q_out.loc[pairs["q"]].notna().all(axis=1).to_numpy()
        & h_out.loc[pairs["h"]].notna().all(axis=1).to_numpy()
    )
    assert both.sum() > 1000
    for name in ("drop_from_4h_high_frac", "btc_ret_24h_frac", "btc_drawdown_7d_frac"):
        got = q_out.loc[pairs["q"][both], name].to_numpy()
        want = h_out.loc[pairs["h"][both], name].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
    # Candle-counted indicators are not rescaled: a 15m RSI(14) is not the 1h one.
    assert not np.allclose(
        q_out.loc[pairs["q"][both], "rsi_14"], h_out.loc[pairs["h"][both], "rsi_14"]
    )


def test_feature_code_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = feature_code_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and digest == feature_code_hash()
    names = {p.name for p in features._SOURCE_FILES}
    assert {"features.py", "pair.py", "btc.py", "windows.py"} <= names
    copies = []
    for src in features._SOURCE_FILES:
        dst = tmp_path / src.name
        dst.write_bytes(src.read_bytes())
        copies.append(dst)
    monkeypatch.setattr(features, "_SOURCE_FILES", tuple(copies))
    assert feature_code_hash() == digest
    # Documentation is not code: a comment or an edited docstring keeps the digest.
    source = copies[0].read_text()
    docstring_end = source.index('"""', 3) + 3
    copies[0].write_text('"""Reworded."""' + source[docstring_end:] + "\n# a comment\n")
    assert feature_code_hash() == digest
    # What runs is: one changed constant changes it.
    copies[-1].write_bytes(copies[-1].read_bytes() + b"\n_EXTRA = 1\n")
    assert feature_code_hash() != digest
