"""The one feature function, shared unchanged by training and the live Hummingbot scripts.

``compute_features(candles, btc_candles, interval_s)`` turns a canonical candle frame
(:mod:`ml_signals.candles`) into a float64 frame with the columns :data:`FEATURE_COLUMNS`, in
that order, on the same index. Row ``t`` uses only candles ``0..t`` of the pair and BTC candles
that opened at or before row ``t``'s timestamp, so computing on ``candles[:t+1]`` gives row
``t`` exactly (to float rounding) as computing on the whole history does.

Units: ``_frac`` is a fraction (0.02 = 2 %); ``_bars`` counts candles of ``interval_s``;
``_h`` / ``4h`` / ``48h`` / ``7d`` in a name are hours of wall time, converted to candles
(4 at 1h, 16 at 15m); ``_quote`` is quote currency (USDT / USD).

=========================== =================================================================
column                      definition
=========================== =================================================================
rsi_14                      pandas-ta RSI(14), Wilder smoothing, 0..100
macd_hist_frac              pandas-ta MACD(12, 26, 9) histogram / close
bb_width_frac               Bollinger(20, 2 population std): (upper - lower) / middle
bb_b_frac                   Bollinger %B as a fraction: (close - lower) / (upper - lower);
                            0 at the lower band, 1 at the upper, may leave [0, 1]
atr_14_frac                 pandas-ta ATR(14) (Wilder, SMA seed) / close
ret_1_bar_frac              close[t] / close[t-1] - 1
ret_4_bars_frac             close[t] / close[t-4] - 1
ret_24_bars_frac            close[t] / close[t-24] - 1
drop_from_4h_high_frac      close / max(high over the last 4h incl. the current candle) - 1;
                            <= 0 (original plan, DCA: "5% drop from recent high", 4h window)
support_dist_48h_frac       close / min(low over the 48h before the current candle) - 1;
                            < 0 when the support is broken
resistance_dist_48h_frac    close / max(high over the 48h before the current candle) - 1;
                            > 0 on a breakout (original plan, swing: "3% above resistance")
volume_ratio_20             volume / mean(volume of the 20 candles BEFORE the current one);
                            the current candle is excluded so a surge does not dilute its
                            own baseline (plan: DCA "above_average", swing "2x average")
close_vs_ema20_frac         close / EMA20 - 1 (EMAs: pandas-ta, 700-candle window, see below)
close_vs_ema50_frac         close / EMA50 - 1
close_vs_ema200_frac        close / EMA200 - 1
ema20_slope_4_bars_frac     EMA20[t] / EMA20[t-4] - 1
ema50_slope_4_bars_frac     EMA50[t] / EMA50[t-4] - 1
ema200_slope_4_bars_frac    EMA200[t] / EMA200[t-4] - 1
close_vs_ema_80h_frac       close / EMA(80h) - 1; EMA(80h) stands for the 4h chart's EMA20,
                            built from the candles themselves (no resampling, no partial
                            4h candle, hence no leak)
ema_80h_slope_4h_frac       EMA(80h)[t] / EMA(80h)[t - 4h] - 1 (one 4h candle)
htf_uptrend                 1.0 when close > EMA(80h) and ema_80h_slope_4h_frac > 0, else 0.0
                            (original plan, swing: "uptrend_on_4h")
trend_alignment_score       mean of sign(close - EMA20), sign(close - EMA50),
                            sign(close - EMA200), sign(close - EMA(80h)),
                            sign(ema_80h_slope_4h_frac): -1 all bearish .. +1 all bullish
rvol_24h_frac               std (ddof 1) of 1-candle log returns over the last 24h, scaled by
                            sqrt(candles per day): a 1-day volatility, NOT annualised
btc_regime                  :class:`~ml_signals.regime.BtcRegime` code of BTC (0 CRASH,
                            1 BEAR, 2 NEUTRAL, 3 BULL); rule in :func:`btc_regime_series`
btc_ret_24h_frac            BTC close[t] / close[t - 24h] - 1
btc_drawdown_7d_frac        BTC close / max(BTC high over the last 7 days incl. current) - 1
btc_close_vs_ema200_frac    BTC close / BTC EMA200 - 1
btc_corr_72_bars            Pearson correlation of the pair's and BTC's 1-candle simple
                            returns over the last 72 candles (plan: "btc_correlation")
liquidity_tier              0 small, 1 mid, 2 large, from the 24h quote volume below:
                            < 5M, < 100M, >= 100M quote per day. The data has no market cap,
                            so this stands in for the plan's small / mid / large cap; the
                            thresholds are this project's choice and depend on the exchange
log10_volume_24h_quote      log10(sum of close * volume over the last 24h incl. current)
=========================== =================================================================

Warm-up: rows ``0 .. warmup_bars(interval_s) - 1`` are NaN in every column; from row
``warmup_bars`` on every column is defined, except where a value is undefined by its inputs:
a division by zero or a log of zero (flat Bollinger band, zero volume mean, zero 24h volume,
constant returns in the correlation window) gives NaN, never inf. :data:`WARMUP_BARS` is the
1h value, 300 candles: 1.5 spans of EMA200, so candles before the series start weigh <= 5 %.

EMAs (every EMA above, and BTC's): pandas-ta ``ema(presma=False, adjust=True)``, the exact
exponentially weighted mean of the closes, restricted to the newest ``EMA_WINDOW_BARS`` (700)
candles. The live scripts see only 720 candles; with the restriction a full-history row equals
the live row to float rounding, where an unrestricted EMA200 would be off by the weight of the
missing history (moving ``close_vs_ema200_frac`` by up to 5e-4 on the sample and flipping
``trend_alignment_score``). pandas-ta's MACD, RSI and ATR keep their own seeding; their memory
fades within 720 candles to below float precision. Measured on the sample (6 pairs x 40 end
points), live-window and full-history rows differ by <= 1.1e-8 relative / 7.7e-10 absolute
(Bollinger's rolling std rounds differently from a different start); the tests hold them to
:data:`LIVE_WINDOW_RTOL` and :data:`LIVE_WINDOW_ATOL`.

BTC reference: ``btc_candles`` is BTC's canonical frame on the same interval (it may be the same
object as ``candles`` when the pair is BTC). With ``btc_candles=None`` the pair is its own
reference: ``btc_*`` columns then describe the pair itself and ``btc_corr_72_bars`` is 1. A pair
row takes the newest BTC row that opened at or before it, if that row is at most one candle
older (a lagging BTC feed); otherwise the BTC columns are NaN (no forward fill beyond that).
"""

from __future__ import annotations

import ast
import hashlib
import io
import tokenize
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from ml_signals.feature_parts.btc import btc_features, btc_own_features
from ml_signals.feature_parts.inputs import check_candle_frame
from ml_signals.feature_parts.pair import pair_features
from ml_signals.feature_parts.windows import (
    EMA_SLOPE_BARS,
    EMA_WINDOW_BARS,
    MAX_LIVE_BARS,
    windows_for,
)

__all__ = [
    "FEATURE_COLUMNS",
    "LIVE_WINDOW_ATOL",
    "LIVE_WINDOW_RTOL",
    "MAX_LIVE_BARS",
    "WARMUP_BARS",
    "btc_regime_series",
    "compute_features",
    "feature_code_hash",
    "warmup_bars",
]

FEATURE_COLUMNS: Final[tuple[str, ...]] = (
    "rsi_14",
    "macd_hist_frac",
    "bb_width_frac",
    "bb_b_frac",
    "atr_14_frac",
    "ret_1_bar_frac",
    "ret_4_bars_frac",
    "ret_24_bars_frac",
    "drop_from_4h_high_frac",
    "support_dist_48h_frac",
    "resistance_dist_48h_frac",
    "volume_ratio_20",
    "close_vs_ema20_frac",
    "close_vs_ema50_frac",
    "close_vs_ema200_frac",
    "ema20_slope_4_bars_frac",
    "ema50_slope_4_bars_frac",
    "ema200_slope_4_bars_frac",
    "close_vs_ema_80h_frac",
    "ema_80h_slope_4h_frac",
    "htf_uptrend",
    "trend_alignment_score",
    "rvol_24h_frac",
    "btc_regime",
    "btc_ret_24h_frac",
    "btc_drawdown_7d_frac",
    "btc_close_vs_ema200_frac",
    "btc_corr_72_bars",
    "liquidity_tier",
    "log10_volume_24h_quote",
)
"""Feature names in model order; stored in every artifact's manifest."""

LIVE_WINDOW_RTOL: Final[float] = 1e-7
LIVE_WINDOW_ATOL: Final[float] = 1e-8
"""Bound on |live-window - full-history| per value, ``<= LIVE_WINDOW_ATOL + LIVE_WINDOW_RTOL *
|full-history|``, for features on the last :data:`MAX_LIVE_BARS` candles versus the whole
history (float rounding only; ~10x above the largest gap measured on the sample)."""

_SOURCE_FILES: Final[tuple[Path, ...]] = (
    Path(__file__),
    *sorted((Path(__file__).parent / "feature_parts").glob("*.py")),
)


def warmup_bars(interval_s: int) -> int:
    """Rows at the start of a frame of ``interval_s``-second candles whose features are NaN.

    Returns 300 at 1h (EMA200 warm-up); 671 at 15m (the 7-day BTC high spans 672 candles).

    Raises:
        ValueError: intervals that do not divide the 4h window or need more than
            :data:`MAX_LIVE_BARS` candles (e.g. 1d, 5m).
    """
    return windows_for(interval_s).warmup_bars


def lookback_bars(interval_s: int) -> int:
    """Closed candles the newest row's features read, the newest included: every EMA weighs the
    newest ``EMA_WINDOW_BARS`` (700) closes and the slopes read it a few candles back (4 at 1h,
    16 at 15m), so 704 at 1h; never fewer than ``warmup_bars + 1``. A candle older than this
    cannot move the newest row; a bad candle inside it can (the candle guard's window).

    Raises:
        ValueError: as :func:`warmup_bars`.
    """
    w = windows_for(interval_s)
    return max(w.warmup_bars + 1, EMA_WINDOW_BARS + max(EMA_SLOPE_BARS, w.htf_slope_bars))


WARMUP_BARS: Final[int] = warmup_bars(3600)
"""Warm-up at 1h candles: row ``WARMUP_BARS`` is the first with every feature defined."""


def compute_features(
    candles: pd.DataFrame,
    btc_candles: pd.DataFrame | None = None,
    interval_s: int = 3600,
) -> pd.DataFrame:
    """Features of every candle row, using only that row and earlier ones.

    Args:
        candles: the pair's canonical candle frame (:mod:`ml_signals.candles`), any length;
            training passes the whole history, the live scripts the last <= 720 candles.
        btc_candles: BTC's canonical frame on the same interval, or ``None`` to use the pair
            itself as the BTC reference (see the module docstring).
        interval_s: candle length in seconds; hour windows are converted with it.

    Returns:
        float64 DataFrame, index ``candles.index``, columns :data:`FEATURE_COLUMNS`; rows
        inside the warm-up (:func:`warmup_bars`) are all NaN; no inf anywhere.

    Raises:
        ValueError: a frame lacks a canonical column or is not on the ``interval_s`` grid
            (message names the frame and the row), or the interval is unsupported.
    """
    windows = windows_for(interval_s)
    check_candle_frame(candles, interval_s, "candles")
    reference = candles if btc_candles is None else btc_candles
    if reference is not candles:
        check_candle_frame(reference, interval_s, "btc_candles")
    values = np.full((len(candles), len(FEATURE_COLUMNS)), np.nan)
    if len(candles) > windows.warmup_bars:
        with np.errstate(divide="ignore", invalid="ignore"):
            parts = pair_features(candles, windows)
            parts.update(btc_features(candles, reference, windows))
        for j, name in enumerate(FEATURE_COLUMNS):
            values[:, j] = parts.pop(name)
        if parts:
            raise RuntimeError(f"features computed but not listed: {sorted(parts)}")
        values[: windows.warmup_bars] = np.nan
        values[~np.isfinite(values)] = np.nan
    return pd.DataFrame(values, index=candles.index, columns=list(FEATURE_COLUMNS))


def btc_regime_series(btc_candles: pd.DataFrame, interval_s: int = 3600) -> pd.Series:
    """BTC regime code per BTC candle, for the risk guard and the setup detectors.

    Rule (thresholds are this project's choice; the original plan's DCA ``setup_detection``
    only says ``'btc_regime': 'not_crashing'``): CRASH (0) when BTC's 24h return <= -10 % or
    its close is >= 15 % below the highest high of the last 7 days (incl. the current candle);
    else BULL (3) when close > EMA200 and EMA50 > EMA200; BEAR (1) when close < EMA200 and
    EMA50 < EMA200; NEUTRAL (2) otherwise. EMAs count candles of ``interval_s``.

    Returns:
        nullable ``Int64`` Series named ``"btc_regime"`` on ``btc_candles.index`` with
        :class:`~ml_signals.regime.BtcRegime` values; ``<NA>`` inside the warm-up.

    Raises:
        ValueError: as :func:`compute_features` for ``btc_candles``.
    """
    windows = windows_for(interval_s)
    check_candle_frame(btc_candles, interval_s, "btc_candles")
    with np.errstate(divide="ignore", invalid="ignore"):
        codes = btc_own_features(btc_candles, windows)["btc_regime"]
    return pd.Series(codes, index=btc_candles.index, name="btc_regime").astype("Int64")


def feature_code_hash() -> str:
    """sha256 hex digest of the code that defines the features.

    Covers this module and every ``ml_signals/feature_parts/*.py`` (file name and code, in
    sorted order). The code is each file's token stream without comments, blank lines and the
    docstrings of the module, its classes and functions, so editing documentation does not
    invalidate published artifacts while any change to what runs does. Token text, unlike
    ``ast.dump`` (whose output changed in Python 3.13), is the same on every Python the package
    supports, so a model trained on one Python is accepted by a script on another. An artifact
    stores the digest and refuses features computed by different code. It does not cover the
    pandas / pandas-ta versions; record those beside it.

    Raises:
        SyntaxError: a source file does not parse (it could not have been imported either).
    """
    digest = hashlib.sha256()
    for path in _SOURCE_FILES:
        digest.update(path.name.encode() + b"\0" + _code_without_docs(path) + b"\0")
    return digest.hexdigest()


def _code_without_docs(path: Path) -> bytes:
    """``path``'s tokens, NUL-separated, without comments, blank lines and docstrings (the
    string that opens the module or a class or function body); indentation as ``INDENT`` /
    ``DEDENT`` and line ends as ``NEWLINE``, so moving code by lines or reflowing comments does
    not count."""
    source = path.read_bytes()
    tree = ast.parse(source, filename=str(path))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                docstrings.add((body[0].lineno, body[0].col_offset))
    parts = []
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type in _SKIPPED_TOKENS or (tok.type == tokenize.STRING
                                           and tok.start in docstrings):
            continue
        structural = tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
        parts.append(tokenize.tok_name[tok.type] if structural else tok.string)
    return "\0".join(parts).encode()


_SKIPPED_TOKENS: Final = frozenset({tokenize.ENCODING, tokenize.COMMENT, tokenize.NL})
