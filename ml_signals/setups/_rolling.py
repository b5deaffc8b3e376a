"""Small causal rolling helpers shared by the detectors.

Every helper returns values at row t computed from rows <= t only (pandas ``rolling`` windows end
at the current row; ``shift(1)`` moves a window to end at the previous row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rising_edge(condition: pd.Series) -> pd.Series:
    """True where ``condition`` turns True (it was False or unknown on the previous row).

    Detectors fire once per episode instead of on every candle of a long oversold stretch.
    """
    cond = condition.fillna(False).astype(bool)
    return cond & ~cond.shift(1, fill_value=False)


def rolling_slope_frac(values: pd.Series, window_bars: int) -> pd.Series:
    """Least-squares slope of ``values`` over the last ``window_bars`` rows, per bar, as a
    fraction of the window mean (0.001 = the fit rises 0.1 % of the mean per candle).

    Vectorised with rolling sums: slope = cov(x, y) / var(x) with x = 0..n-1 inside each window.
    """
    n = window_bars
    y = values.astype("float64")
    idx = pd.Series(np.arange(len(y), dtype="float64"), index=y.index)
    sum_y = y.rolling(n, min_periods=n).sum()
    sum_iy = (idx * y).rolling(n, min_periods=n).sum()
    # x_k = i - (t - n + 1) for row i in the window ending at t,
    # so sum(x*y) = sum(i*y) - (t - n + 1) * sum(y)
    start = idx - (n - 1)
    sum_xy = sum_iy - start * sum_y
    sum_x = n * (n - 1) / 2.0
    sum_xx = (n - 1) * n * (2 * n - 1) / 6.0
    slope = (n * sum_xy - sum_x * sum_y) / (n * sum_xx - sum_x**2)
    mean = sum_y / n
    return slope / mean
