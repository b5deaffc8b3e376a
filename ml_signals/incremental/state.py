"""One pair's feature state: the newest feature row from one more closed candle.

:class:`FeatureState` holds the pair's last candles (ring arrays), the O(1) recursions of
:mod:`.recursions` (EMAs, RSI, MACD, ATR) and the feature rows it produced.
:meth:`FeatureState.push` takes the next closed candle and computes its row of
:data:`ml_signals.features.FEATURE_COLUMNS` in O(1) for the recursions and O(window) for the
short rolling windows (20 to 168 candles), never the 720-candle recomputation of
``compute_features``.

Definition: a state started on the first candle of a frame and pushed every candle of it holds,
for each row, the value ``compute_features(frame, btc)`` gives that row, to float rounding
(:data:`ml_signals.incremental.PARITY_RTOL`): same indicator seeds at the same first candle,
same windows, same warm-up (rows before ``warmup_bars`` are NaN), same NaN for a value undefined
by its inputs. Two differences, both far below the tolerance and stated where they arise: the
Bollinger mean / std and the 24h quote sum are taken over their window directly (pandas' rolling
sums carry rounding from the frame start), and pandas-ta's ATR adds float epsilon (2.2e-16 quote)
to every high - low range of a frame that holds a candle with high == low; here it does not.

Every state also computes the BTC reference columns of its own candles (:class:`BtcPoint`); the
BTC pair's state serves them to the other pairs (:meth:`FeatureState.btc_point`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ml_signals.feature_parts import windows as p
from ml_signals.features import FEATURE_COLUMNS, MAX_LIVE_BARS
from ml_signals.incremental.recursions import Ewm, PresmaEwm, WindowedEma
from ml_signals.regime import BtcRegime

FloatArray = npt.NDArray[np.float64]
_COL = {name: j for j, name in enumerate(FEATURE_COLUMNS)}
_NAN = math.nan


@dataclass(frozen=True, slots=True)
class BtcPoint:
    """BTC's own columns on one BTC candle (``feature_parts.btc.btc_own_features``) and its close.

    Attributes:
        close: BTC close (quote).
        regime: :class:`~ml_signals.regime.BtcRegime` code as float, NaN in the warm-up.
        ret_24h_frac, drawdown_7d_frac, close_vs_ema200_frac: fractions, NaN in the warm-up.
    """

    close: float
    regime: float
    ret_24h_frac: float
    drawdown_7d_frac: float
    close_vs_ema200_frac: float


def _div(a: float, b: float) -> float:
    """``a / b``, NaN for a zero divisor (the batch turns every inf / NaN into NaN)."""
    return a / b if b != 0.0 else _NAN


def _sign(x: float) -> float:
    """``numpy.sign`` of a float: -1, 0, 1, NaN."""
    return _NAN if math.isnan(x) else float((x > 0) - (x < 0))


def regime_code(close: float, ema_fast: float, ema_slow: float, ret_24h: float,
                drawdown_7d: float) -> float:
    """One value of ``feature_parts.btc.regime_codes`` (same thresholds, same order)."""
    if any(math.isnan(v) for v in (close, ema_fast, ema_slow, ret_24h, drawdown_7d)):
        return _NAN
    if ret_24h <= p.CRASH_RETURN_24H_FRAC or drawdown_7d <= p.CRASH_DRAWDOWN_7D_FRAC:
        return float(BtcRegime.CRASH)
    if close > ema_slow and ema_fast > ema_slow:
        return float(BtcRegime.BULL)
    if close < ema_slow and ema_fast < ema_slow:
        return float(BtcRegime.BEAR)
    return float(BtcRegime.NEUTRAL)


class FeatureState:
    """Incremental features of one pair (module docstring).

    Args:
        interval_s: candle length (s); hour windows as :func:`ml_signals.features.warmup_bars`.
        keep: rows (candles and feature rows) kept, at least :data:`MAX_LIVE_BARS` (720).

    Raises:
        ValueError: an unsupported interval (as ``compute_features``).
    """

    def __init__(self, interval_s: int, keep: int = MAX_LIVE_BARS) -> None:
        self.w = w = p.windows_for(interval_s)
        self.interval_s = interval_s
        self.keep = max(keep, MAX_LIVE_BARS, p.EMA_WINDOW_BARS + w.htf_slope_bars + 1)
        cap = 2 * self.keep
        self.ts = np.zeros(cap, dtype=np.int64)
        self.candles = np.zeros((5, cap))  # open, high, low, close, volume
        self.btc_close = np.zeros(cap)  # the BTC close aligned with each row (NaN: none)
        self.emas = np.zeros((4, cap))  # EMA 20, 50, 200, 4h chart's EMA20 (80h)
        self.rows = np.zeros((cap, len(FEATURE_COLUMNS)))
        self.own = np.zeros((4, cap))  # BtcPoint fields but close, of this pair's own candles
        self.lo = 0  # first kept row in the buffers
        self.hi = 0  # one past the newest
        self.count = 0  # candles pushed since the state started
        self._rsi_up, self._rsi_down = Ewm(1.0 / p.RSI_BARS), Ewm(1.0 / p.RSI_BARS)
        self._macd_fast = PresmaEwm(p.MACD_FAST_BARS, 2.0 / (p.MACD_FAST_BARS + 1))
        self._macd_slow = PresmaEwm(p.MACD_SLOW_BARS, 2.0 / (p.MACD_SLOW_BARS + 1))
        self._macd_signal = PresmaEwm(p.MACD_SIGNAL_BARS, 2.0 / (p.MACD_SIGNAL_BARS + 1))
        self._atr = PresmaEwm(p.ATR_BARS, 1.0 / p.ATR_BARS)
        self._ema = [WindowedEma(n) for n in (*p.EMA_BARS, w.htf_ema_bars)]
        fast, slow = p.REGIME_EMA_BARS
        self._ema_of = {n: k for k, n in enumerate(p.EMA_BARS)}
        if fast not in self._ema_of or slow not in self._ema_of:
            raise ValueError(f"regime EMAs {p.REGIME_EMA_BARS} must be among {p.EMA_BARS}")

    # --- reading ----------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Rows kept."""
        return self.hi - self.lo

    @property
    def first_ts(self) -> int | None:
        """Open time (s) of the oldest row kept; ``None`` when empty."""
        return int(self.ts[self.lo]) if self.hi > self.lo else None

    @property
    def last_ts(self) -> int | None:
        """Open time (s) of the newest row; ``None`` when empty."""
        return int(self.ts[self.hi - 1]) if self.hi > self.lo else None

    def index_of(self, ts: int) -> int | None:
        """Buffer index of the row opening at ``ts``, ``None`` when not kept."""
        first = self.first_ts
        if first is None or ts < first or (ts - first) % self.interval_s:
            return None
        i = self.lo + (ts - first) // self.interval_s
        return i if i < self.hi else None

    def btc_point(self, ts: int) -> BtcPoint | None:
        """This pair's own BTC columns for a row opening at ``ts``, as a BTC reference: the
        newest kept row at or before ``ts`` if it is at most ``BTC_MAX_STALENESS_BARS`` (1)
        candle older (``feature_parts.btc.align_rows``), else ``None``."""
        last = self.last_ts
        if last is None:
            return None
        newest = min(ts, last)
        if ts - newest > p.BTC_MAX_STALENESS_BARS * self.interval_s:
            return None
        i = self.index_of(newest)
        if i is None:
            return None
        o = self.own[:, i]
        return BtcPoint(float(self.candles[3, i]), float(o[0]), float(o[1]), float(o[2]),
                        float(o[3]))

    # --- writing ----------------------------------------------------------------------------------

    def push(self, ts: int, candle: tuple[float, float, float, float, float],
             btc: BtcPoint | None) -> FloatArray:
        """Take the next closed candle and return its feature row (a view; do not modify).

        Args:
            ts: open time (s), one interval after :attr:`last_ts` (the caller checks).
            candle: open, high, low, close, volume (quote prices, base volume).
            btc: the BTC reference on this candle (:meth:`btc_point` of BTC's state);
                ``None``: BTC columns NaN and no correlation. A pair that is its own
                reference (BTC itself) calls :meth:`push_own`.
        """
        i = self._append(ts, candle)
        self._own_columns(i)
        self._fill_row(i, btc)
        row: FloatArray = self.rows[i]
        return row

    def push_own(self, ts: int, candle: tuple[float, float, float, float, float]) -> FloatArray:
        """:meth:`push` for a pair that is its own BTC reference (the BTC pair itself)."""
        i = self._append(ts, candle)
        self._own_columns(i)
        o = self.own[:, i]
        self._fill_row(i, BtcPoint(candle[3], float(o[0]), float(o[1]), float(o[2]),
                                   float(o[3])))
        row: FloatArray = self.rows[i]
        return row

    def _append(self, ts: int, candle: tuple[float, float, float, float, float]) -> int:
        if self.hi == self.ts.size:  # buffers full: keep the newest rows, move them to the front
            n = self.keep - 1
            src = slice(self.hi - n, self.hi)
            for buf in (self.candles, self.btc_close, self.emas, self.own):
                buf[..., :n] = buf[..., src]
            self.ts[:n] = self.ts[src]
            self.rows[:n] = self.rows[src]
            self.lo, self.hi = 0, n
        i = self.hi
        self.ts[i] = ts
        self.candles[:, i] = candle
        self.hi += 1
        self.count += 1
        if self.hi - self.lo > self.keep:
            self.lo += 1
        self._recursions(i)
        return i

    def _recursions(self, i: int) -> None:
        n = self.count
        c = float(self.candles[3, i])
        h, lo = float(self.candles[1, i]), float(self.candles[2, i])
        window = p.EMA_WINDOW_BARS
        leaving = float(self.candles[3, i - window]) if n > window else None
        for k, ema in enumerate(self._ema):
            self.emas[k, i] = ema.push(c, leaving)
        fast, slow = self._macd_fast.push(c), self._macd_slow.push(c)
        self._macd = fast - slow
        self._macd_sig = _NAN if math.isnan(self._macd) else self._macd_signal.push(self._macd)
        if n == 1:
            self._rsi = _NAN
            self._atr_value = self._atr.push(h - lo)
            return
        prev = float(self.candles[3, i - 1])
        d = c - prev
        up = self._rsi_up.push(d if d > 0 else 0.0)
        down = self._rsi_down.push(d if d < 0 else 0.0)
        self._rsi = _div(100.0 * up, up + abs(down))
        self._atr_value = self._atr.push(max(abs(h - lo), abs(h - prev), abs(prev - lo)))

    def _own_columns(self, i: int) -> None:
        """BTC reference columns of this pair's own candle ``i``."""
        w, n = self.w, self.count
        c = float(self.candles[3, i])
        ret = _div(c, float(self.candles[3, i - w.btc_return_bars])) - 1.0 \
            if n > w.btc_return_bars else _NAN
        dd = _div(c, float(self.candles[1, i - w.btc_high_bars + 1: i + 1].max())) - 1.0 \
            if n >= w.btc_high_bars else _NAN
        fast = float(self.emas[self._ema_of[p.REGIME_EMA_BARS[0]], i])
        slow = float(self.emas[self._ema_of[p.REGIME_EMA_BARS[1]], i])
        vs = _div(c, slow) - 1.0
        values = (regime_code(c, fast, slow, ret, dd), ret, dd, vs)
        if n - 1 < w.warmup_bars:
            values = (_NAN, _NAN, _NAN, _NAN)
        self.own[:, i] = values

    def _fill_row(self, i: int, btc: BtcPoint | None) -> None:
        row = self.rows[i]
        self.btc_close[i] = btc.close if btc is not None else _NAN
        if self.count - 1 < self.w.warmup_bars:
            row[:] = _NAN
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            self._pair_columns(i, row)
            self._trend_columns(i, row)
            self._activity_columns(i, row)
            self._btc_columns(i, row, btc)
        row[~np.isfinite(row)] = _NAN

    def _pair_columns(self, i: int, row: FloatArray) -> None:
        n, w = self.count, self.w
        close, high, low = self.candles[3], self.candles[1], self.candles[2]
        c = float(close[i])
        row[_COL["rsi_14"]] = self._rsi
        row[_COL["macd_hist_frac"]] = _div(self._macd - self._macd_sig, c)
        if n >= p.BB_BARS:
            last = close[i - p.BB_BARS + 1: i + 1]
            mid = float(last.mean())
            std = float(last.std(ddof=p.BB_DDOF))
            lower, upper = mid - p.BB_STD * std, mid + p.BB_STD * std
            width = upper - lower
            row[_COL["bb_width_frac"]] = _div(width, mid)
            row[_COL["bb_b_frac"]] = _div(c - lower, width)
        else:
            row[_COL["bb_width_frac"]] = row[_COL["bb_b_frac"]] = _NAN
        row[_COL["atr_14_frac"]] = _div(self._atr_value, c)
        for lag, name in zip(p.RETURN_BARS, ("ret_1_bar_frac", "ret_4_bars_frac",
                                             "ret_24_bars_frac"), strict=True):
            row[_COL[name]] = _div(c, float(close[i - lag])) - 1.0 if n > lag else _NAN
        k = w.drop_high_bars
        row[_COL["drop_from_4h_high_frac"]] = (
            _div(c, float(high[i - k + 1: i + 1].max())) - 1.0 if n >= k else _NAN)
        sr = w.support_resistance_bars
        if n > sr:
            row[_COL["support_dist_48h_frac"]] = _div(c, float(low[i - sr: i].min())) - 1.0
            row[_COL["resistance_dist_48h_frac"]] = _div(c, float(high[i - sr: i].max())) - 1.0
        else:
            row[_COL["support_dist_48h_frac"]] = row[_COL["resistance_dist_48h_frac"]] = _NAN

    def _trend_columns(self, i: int, row: FloatArray) -> None:
        n, w = self.count, self.w
        c = float(self.candles[3, i])
        signs = []
        names = (("close_vs_ema20_frac", "ema20_slope_4_bars_frac"),
                 ("close_vs_ema50_frac", "ema50_slope_4_bars_frac"),
                 ("close_vs_ema200_frac", "ema200_slope_4_bars_frac"))
        lag = p.EMA_SLOPE_BARS
        for k, (vs_name, slope_name) in enumerate(names):
            e = float(self.emas[k, i])
            row[_COL[vs_name]] = _div(c, e) - 1.0
            row[_COL[slope_name]] = _div(e, float(self.emas[k, i - lag])) - 1.0 \
                if n > lag else _NAN
            signs.append(_sign(c - e))
        htf = float(self.emas[3, i])
        hl = w.htf_slope_bars
        slope = _div(htf, float(self.emas[3, i - hl])) - 1.0 if n > hl else _NAN
        row[_COL["close_vs_ema_80h_frac"]] = _div(c, htf) - 1.0
        row[_COL["ema_80h_slope_4h_frac"]] = slope
        row[_COL["htf_uptrend"]] = _NAN if math.isnan(slope) else float(c > htf and slope > 0)
        signs += [_sign(c - htf), _sign(slope)]
        row[_COL["trend_alignment_score"]] = sum(signs) / len(signs)

    def _activity_columns(self, i: int, row: FloatArray) -> None:
        n, w = self.count, self.w
        close, volume = self.candles[3], self.candles[4]
        vm = p.VOLUME_MEAN_BARS
        row[_COL["volume_ratio_20"]] = (
            _div(float(volume[i]), float(volume[i - vm: i].mean())) if n > vm else _NAN)
        k = w.realised_vol_bars
        if n > k:
            log_ret = np.diff(np.log(close[i - k: i + 1]))
            row[_COL["rvol_24h_frac"]] = float(log_ret.std(ddof=1)) * math.sqrt(
                86400 / w.interval_s)
        else:
            row[_COL["rvol_24h_frac"]] = _NAN
        k = w.liquidity_bars
        if n >= k:
            quote = float(np.dot(close[i - k + 1: i + 1], volume[i - k + 1: i + 1]))
            tier = 2.0 if quote >= p.LIQUIDITY_LARGE_QUOTE else (
                1.0 if quote >= p.LIQUIDITY_MID_QUOTE else 0.0)
            row[_COL["liquidity_tier"]] = tier
            row[_COL["log10_volume_24h_quote"]] = math.log10(quote) if quote > 0 else _NAN
        else:
            row[_COL["liquidity_tier"]] = row[_COL["log10_volume_24h_quote"]] = _NAN

    def _btc_columns(self, i: int, row: FloatArray, btc: BtcPoint | None) -> None:
        if btc is None:
            btc = BtcPoint(_NAN, _NAN, _NAN, _NAN, _NAN)
        row[_COL["btc_regime"]] = btc.regime
        row[_COL["btc_ret_24h_frac"]] = btc.ret_24h_frac
        row[_COL["btc_drawdown_7d_frac"]] = btc.drawdown_7d_frac
        row[_COL["btc_close_vs_ema200_frac"]] = btc.close_vs_ema200_frac
        n = p.BTC_CORR_BARS
        if self.count <= n:
            row[_COL["btc_corr_72_bars"]] = _NAN
            return
        pc = self.candles[3, i - n: i + 1]
        bc = self.btc_close[i - n: i + 1]
        x = pc[1:] / pc[:-1] - 1.0
        y = bc[1:] / bc[:-1] - 1.0
        x = x - x.mean()
        y = y - y.mean()
        scale = math.sqrt(float(np.dot(x, x)) * float(np.dot(y, y)))
        corr = _div(float(np.dot(x, y)), scale)
        row[_COL["btc_corr_72_bars"]] = min(max(corr, -1.0), 1.0) if not math.isnan(corr) \
            else _NAN
