"""O(1) recursions behind the incremental features: one object per smoothed series.

Each class reproduces, one value at a time, the series :func:`ml_signals.features.compute_features`
gets from pandas / pandas-ta on a frame that starts where the object started (its first
:meth:`push`); :mod:`ml_signals.incremental.state` starts them at the first candle of the window
it is built from, so the definition, seeds included, is the batch one for that window.

- :class:`WindowedEma`: ``feature_parts.pair.ema`` - the adjusted EMA (pandas ``ewm(adjust=True)``,
  pandas-ta ``presma=False``) restricted to the newest ``EMA_WINDOW_BARS`` (700) closes. Its
  value does not depend on where the series starts once 700 closes feed it.
- :class:`Ewm`: pandas ``ewm(alpha, adjust=False).mean()`` started at the first value (pandas-ta's
  ``rma``, used by RSI), with pandas' own update (``(old * w + new * a) / (w + a)``, skipped when
  the value equals the average), so it matches pandas bit for bit.
- :class:`PresmaEwm`: pandas-ta's ``presma=True`` seeding - the SMA of the first ``length`` values
  at the ``length``-th, then :class:`Ewm` (MACD's EMAs and signal line, ATR's Wilder average).

Values are Python floats; NaN before a series is defined (e.g. during a ``presma`` seed).
"""

from __future__ import annotations

import math

import numpy as np

from ml_signals.feature_parts.windows import EMA_WINDOW_BARS


class Ewm:
    """pandas ``Series.ewm(alpha=alpha, adjust=False).mean()``, one value per :meth:`push`.

    Args:
        alpha: smoothing factor in (0, 1]; ``1/length`` for Wilder's average, ``2/(span+1)``
            for an EMA of span ``span``.

    Raises:
        ValueError: ``alpha`` outside (0, 1].
    """

    __slots__ = ("alpha", "keep", "value")

    def __init__(self, alpha: float) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.keep = 1.0 - alpha
        self.value = math.nan

    def push(self, x: float) -> float:
        """Average after ``x`` (a NaN ``x`` before the first value is skipped, as pandas does
        for leading NaN; canonical candles have no NaN after it)."""
        if math.isnan(self.value):
            self.value = x
        elif self.value != x:  # pandas skips the update on an equal value (constant series)
            self.value = (self.keep * self.value + self.alpha * x) / (self.keep + self.alpha)
        return self.value


class PresmaEwm:
    """pandas-ta ``presma=True`` seeding: NaN for the first ``length - 1`` values, the mean of
    the first ``length`` at the ``length``-th, then ``ewm(alpha, adjust=False)`` from there.

    Args:
        length: seed length in values (MACD 12 / 26 / 9, ATR 14).
        alpha: as :class:`Ewm`.

    Raises:
        ValueError: ``length`` < 1 or ``alpha`` outside (0, 1].
    """

    __slots__ = ("_ewm", "_seed", "length")

    def __init__(self, length: int, alpha: float) -> None:
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.length = length
        self._seed: list[float] | None = []
        self._ewm = Ewm(alpha)

    def push(self, x: float) -> float:
        """Value after ``x``; NaN while the seed fills."""
        seed = self._seed
        if seed is None:
            return self._ewm.push(x)
        seed.append(x)
        if len(seed) < self.length:
            return math.nan
        self._seed = None
        return self._ewm.push(_pandas_mean(seed))

    @property
    def value(self) -> float:
        """The current value (NaN while the seed fills)."""
        return math.nan if self._seed is not None else self._ewm.value


def _pandas_mean(values: list[float]) -> float:
    """Mean as pandas computes it for a float64 Series (numpy's sum, then / count)."""
    return float(np.asarray(values, dtype=np.float64).sum() / len(values))


class WindowedEma:
    """``feature_parts.pair.ema``: ``sum(w**i * close[t-i]) / sum(w**i)`` over
    ``i < min(n, window)``, ``n`` the closes pushed so far, ``w = 1 - 2 / (length + 1)``.

    The numerator is kept as ``S = w * S + close - w**window * close[t - window]``; the caller
    passes the close that leaves the window (``None`` while fewer than ``window`` are in).
    The update is stable (errors shrink by ``w`` each step); the value differs from the batch
    one by float rounding only (see ``ml_signals.incremental.PARITY_RTOL``).

    Args:
        length: EMA span in candles (20, 50, 200, 80 at 1h).
        window: closes the EMA weighs, ``EMA_WINDOW_BARS`` (700).

    Raises:
        ValueError: ``length`` < 1 or ``window`` < 1.
    """

    __slots__ = ("_count", "_num", "decay", "tail", "window")

    def __init__(self, length: int, window: int = EMA_WINDOW_BARS) -> None:
        if length < 1 or window < 1:
            raise ValueError(f"length and window must be >= 1, got {length}, {window}")
        self.decay = 1.0 - 2.0 / (length + 1)
        self.window = window
        self.tail = self.decay**window
        self._num = 0.0
        self._count = 0

    def push(self, close: float, leaving: float | None) -> float:
        """EMA after ``close``; ``leaving`` is ``close[t - window]`` once ``window`` closes
        precede ``close``, else ``None``."""
        num = self.decay * self._num + close
        if leaving is not None:
            num -= self.tail * leaving
        self._num = num
        self._count += 1
        m = min(self._count, self.window)
        return num * (1.0 - self.decay) / (1.0 - self.decay**m)
