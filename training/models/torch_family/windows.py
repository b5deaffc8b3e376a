"""The candle windows of a setup dataset, and the flat input matrix the training loop passes
around.

The windows come from :func:`ml_signals.feature_parts.sequence.candle_windows`, the function
the live scorer calls on the pair's candle frame: one window function for training and
serving. :func:`sequence_inputs` appends each setup's flattened window to its input row so
``training.models.train`` indexes, rolls (the null run) and slices one matrix for both families; the
torch models split it back (:meth:`training.models.torch_family.fit.SequenceModel.split`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ml_signals.feature_parts.sequence import SEQUENCE_CHANNELS, candle_windows
from training.labels.dataset import PairFeatures, SetupDataset


def dataset_windows(ds: SetupDataset, pair_features: Mapping[str, PairFeatures],
                    n_bars: int) -> np.ndarray:
    """Window of every setup of ``ds``, in its row order.

    Args:
        ds: the setup dataset (``frame`` columns ``pair`` and ``timestamp``: setup candle open
            time, seconds).
        pair_features: the candles the dataset was built from, by pair.
        n_bars: window length in candles.

    Returns:
        float32 array, shape (len(ds.frame), n_bars, len(SEQUENCE_CHANNELS)).

    Raises:
        ValueError: a pair of the dataset is missing from ``pair_features``, or a setup has
            fewer than ``n_bars`` candles of history (message names the pair).
    """
    frame = ds.frame
    out = np.empty((len(frame), n_bars, len(SEQUENCE_CHANNELS)), dtype=np.float32)
    pairs = frame["pair"].to_numpy()
    stamps = frame["timestamp"].to_numpy(dtype="int64")
    for pair in np.unique(pairs):
        if pair not in pair_features:
            raise ValueError(f"{ds.strategy}: candles of pair {pair} are not loaded; its "
                             "setups have no candle window")
        rows = np.flatnonzero(pairs == pair)
        try:
            out[rows] = candle_windows(pair_features[pair].candles.frame, stamps[rows], n_bars)
        except ValueError as exc:
            raise ValueError(f"{ds.strategy} {pair}: {exc}") from None
    return out


def sequence_inputs(x: np.ndarray, windows: np.ndarray | None) -> np.ndarray:
    """``x`` (n, n_columns) with each row's window flattened onto it: shape
    (n, n_columns + n_bars * channels), float64.

    Raises:
        ValueError: no windows, or not one per row.
    """
    if windows is None:
        raise ValueError("the torch family needs candle windows (training.models.torch_family."
                         "windows.dataset_windows)")
    if windows.ndim != 3 or len(windows) != len(x):
        raise ValueError(f"{len(x)} input rows but windows of shape {windows.shape}")
    return np.hstack([x, windows.reshape(len(x), -1).astype("float64")])
