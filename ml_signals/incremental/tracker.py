"""Per-pair feature states kept in step with the closed-candle frames a script decides on.

:meth:`IncrementalFeatures.features` is a drop-in for ``compute_features(frame, btc, interval_s)``
on the live path (:mod:`ml_signals.hummingbot.candle_decisions`, hence the replay): same input
frames, a frame with the same index and columns, the newest rows equal to the batch ones within
:data:`ml_signals.incremental.PARITY_RTOL` / :data:`~ml_signals.incremental.PARITY_ATOL`.

Each call syncs the BTC reference's state, then the pair's, with the frames given:

- the frame must pass ``compute_features``' own input check (canonical columns, sorted, unique,
  gap-free on the interval grid: ``feature_parts.inputs.check_candle_frame``), else the same
  ``ValueError`` and the pair's state is dropped;
- when the state's kept candles are exactly the frame's candles up to some time (every overlapping
  open, high, low, close, volume equal) and the frame starts no earlier than the state, the
  candles after it are pushed, one O(1) / O(window) step each;
- otherwise - first call, a gap, a revised candle, a frame that starts earlier (the feed's
  back-fill arrived) or a state dropped by :meth:`reset` - the state is rebuilt: a new state pushed
  every candle of the frame, which is the batch definition on that frame by construction.

Rows older than the frame's ``lookback_bars`` (704 at 1h) may differ from ``compute_features``
on the frame when the state started earlier than the frame: there the batch value depends on
where the frame starts (EMAs over fewer than 700 closes), the state's does not (it is the value
training computes on the whole history). Detectors read the newest two rows.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_signals.candles import CANDLE_COLUMNS
from ml_signals.feature_parts.inputs import check_candle_frame
from ml_signals.features import FEATURE_COLUMNS, warmup_bars
from ml_signals.incremental.state import FeatureState

log = logging.getLogger(__name__)

_OHLCV = ("open", "high", "low", "close", "volume")
_COLUMNS = pd.Index(FEATURE_COLUMNS)


class IncrementalFeatures:
    """Feature states of every pair a runtime decides on, plus the BTC reference's.

    Args:
        interval_s: candle length (s).
        btc_pair: the BTC reference pair (its state serves the BTC columns of the others).

    Attributes:
        rebuilds: states rebuilt from a whole frame, per pair (first use included).
        pushes: candles pushed one at a time, per pair.

    Raises:
        ValueError: an unsupported interval (as ``compute_features``).
    """

    def __init__(self, interval_s: int, btc_pair: str) -> None:
        self.interval_s = interval_s
        self.btc_pair = btc_pair
        self._warmup = warmup_bars(interval_s)
        self._states: dict[str, FeatureState] = {}
        self._synced: dict[str, tuple[pd.DataFrame, FeatureState, int]] = {}
        """Per pair, the frame its state was last synced with, the state, the frame's newest
        open time (s)."""
        self.rebuilds: dict[str, int] = {}
        self.pushes: dict[str, int] = {}

    def reset(self, pair: str) -> None:
        """Drop ``pair``'s state (a rejected candle, a feed error): the next call rebuilds it from
        its frame."""
        self._synced.pop(pair, None)
        if self._states.pop(pair, None) is not None:
            log.debug("%s: feature state reset", pair)

    def features(self, pair: str, frame: pd.DataFrame,
                 btc_frame: pd.DataFrame | None) -> pd.DataFrame:
        """``compute_features(frame, btc_frame, interval_s)`` from the pairs' states.

        Args:
            pair: the pair ``frame`` belongs to.
            frame: its closed canonical candles, oldest first.
            btc_frame: BTC's closed candles up to ``frame``'s newest (``None`` when ``pair`` is
                the BTC pair: its own reference).

        Returns:
            float64 frame, index ``frame.index``, columns ``FEATURE_COLUMNS``; rows before
            ``warmup_bars`` NaN, as the batch.

        Raises:
            ValueError: a frame fails ``compute_features``' input check (names the frame and row).
        """
        own = btc_frame is None or pair == self.btc_pair
        btc_state = None
        if not own:
            assert btc_frame is not None
            btc_state, _ = self._sync(self.btc_pair, btc_frame, None, "btc_candles")
        state, newest_ts = self._sync(pair, frame, btc_state, "candles")
        values = np.full((len(frame), len(FEATURE_COLUMNS)), np.nan)
        if len(frame):
            last = state.index_of(newest_ts)
            assert last is not None  # the sync pushed the frame's newest candle
            first = max(last + 1 - len(frame), state.lo)
            values[len(frame) - (last + 1 - first):] = state.rows[first: last + 1]
            values[: self._warmup] = np.nan
        return pd.DataFrame(values, index=frame.index, columns=_COLUMNS, copy=False)

    def _sync(self, pair: str, frame: pd.DataFrame, btc: FeatureState | None,
              name: str) -> tuple[FeatureState, int]:
        """``pair``'s state in step with ``frame`` (module docstring). The frame object this
        state was last synced with (the BTC reference, read by every pair's decision on one
        candle) returns the state as it is: candle frames are never modified once built
        (:func:`ml_signals.candles.closed_frame` builds a new one per decision), so its check
        passed and it has nothing left to push."""
        kept = self._synced.get(pair)
        if kept is not None and kept[0] is frame and self._states.get(pair) is kept[1]:
            return kept[1], kept[2]
        try:
            check_candle_frame(frame, self.interval_s, name)
        except ValueError:
            self.reset(pair)
            raise
        ts, candles = _arrays(frame)
        state = self._states.get(pair)
        start = None if state is None else self._continue_from(state, candles, ts)
        if state is None or start is None:
            state = FeatureState(self.interval_s, keep=len(frame))
            self._states[pair] = state
            self.rebuilds[pair] = self.rebuilds.get(pair, 0) + 1
            start = 0
        else:
            self.pushes[pair] = self.pushes.get(pair, 0) + len(frame) - start
        if start < len(frame):
            for k in range(start, len(frame)):
                row = tuple(candles[:, k].tolist())
                t = int(ts[k])
                if btc is None:
                    state.push_own(t, row)
                else:
                    state.push(t, row, btc.btc_point(t))
        newest_ts = int(ts[-1]) if ts.size else -1  # -1: an empty frame, no row to read
        self._synced[pair] = (frame, state, newest_ts)
        return state, newest_ts

    def _continue_from(self, state: FeatureState, candles: npt.NDArray[np.float64],
                       ts: npt.NDArray[np.int64]) -> int | None:
        """Position in ``frame`` of the first candle to push onto ``state``, or ``None`` when the
        state must be rebuilt (module docstring)."""
        first, last = state.first_ts, state.last_ts
        if first is None or last is None or ts.size == 0 or int(ts[0]) < first:
            return None
        end = int(np.searchsorted(ts, last, side="right"))  # frame rows up to the state's last
        if end == 0:
            return None
        lo = state.index_of(int(ts[0]))
        hi = state.index_of(int(ts[end - 1]))
        if lo is None or hi is None or hi - lo != end - 1:
            return None
        kept = state.candles[:, lo: hi + 1]
        if not np.array_equal(kept, candles[:, :end]):
            return None
        if end < ts.size and int(ts[end]) != last + self.interval_s:
            return None
        return end


def _arrays(frame: pd.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``frame``'s open times (int64 s) and its open, high, low, close, volume as a (5, n)
    float64 array (one conversion when the frame has exactly the canonical columns)."""
    if frame.columns.to_list() == list(CANDLE_COLUMNS):
        values = frame.to_numpy(dtype=np.float64).T
        return frame["timestamp"].to_numpy(dtype=np.int64), values[1:]
    return (frame["timestamp"].to_numpy(dtype=np.int64),
            np.stack([frame[c].to_numpy(dtype=np.float64) for c in _OHLCV]))
