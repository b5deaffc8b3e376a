"""The sequence network of the torch family.

One :class:`SequenceNet` per role (classifier, take profit, stop loss, hold), like the XGBoost
set. Inputs are the raw model input row (the XGBoost columns, NaN allowed) and the candle
window of :func:`ml_signals.feature_parts.sequence.candle_windows`; everything the network
needs to read them — per-column and per-channel standardisation fitted on its training rows,
NaN -> 0, clipping to +-:data:`CLIP` standard deviations, and for a regressor the target's
scale — is stored in the module's buffers, so the exported ONNX graph takes raw inputs and
returns a probability or a target in its own unit (fraction, seconds).

Architecture (fixed, nothing searched, as for XGBoost: few thousand noisy setups):
two 1D convolutions (kernel 3, dilation 1 and 2, :data:`HIDDEN` channels, ReLU) over the
window, pooled as the mean over time and the last step; a one-layer MLP over the feature row;
both concatenated into a small head. Receptive field 7 candles before pooling.
"""

from __future__ import annotations

import warnings
from typing import Final

import numpy as np
import torch
from torch import nn

HIDDEN: Final = 16
"""Convolution channels."""
FEATURE_HIDDEN: Final = 32
"""Width of the feature-row layer."""
DROPOUT: Final = 0.1
CLIP: Final = 8.0
"""Standardised inputs are clipped to +-8 standard deviations (an infinite input too)."""


def _scale(x: np.ndarray, axis: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Finite-value mean and standard deviation over ``axis`` (1 where constant or empty)."""
    x = np.where(np.isfinite(x), x, np.nan)
    with warnings.catch_warnings():  # an all-NaN column: mean and std NaN, replaced below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(x, axis=axis)
        std = np.nanstd(x, axis=axis)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


class SequenceNet(nn.Module):
    """1D-CNN over the candle window plus an MLP over the feature row; one output.

    Args:
        features: the fit rows' inputs, shape (n, n_features), to fit the column scaling.
        windows: their candle windows, shape (n, n_bars, channels), for the channel scaling.
        target: a regressor's fit targets, shape (n,) (``None`` for the classifier); the
            output is ``z * std + mean`` of them.
    """

    # buffers registered in __init__ (saved in the state and exported as graph constants)
    f_mean: torch.Tensor
    f_std: torch.Tensor
    w_mean: torch.Tensor
    w_std: torch.Tensor
    t_mean: torch.Tensor
    t_std: torch.Tensor

    def __init__(self, features: np.ndarray, windows: np.ndarray,
                 target: np.ndarray | None = None) -> None:
        super().__init__()
        n_features, channels = features.shape[1], windows.shape[2]
        self.n_bars = windows.shape[1]
        self.classifier = target is None
        f_mean, f_std = _scale(features, (0,))
        w_mean, w_std = _scale(windows, (0, 1))
        t_mean, t_std = (np.float32(0.0), np.float32(1.0)) if target is None else \
            _scale(target.reshape(-1, 1), (0,))
        self.register_buffer("f_mean", torch.from_numpy(f_mean))
        self.register_buffer("f_std", torch.from_numpy(f_std))
        self.register_buffer("w_mean", torch.from_numpy(w_mean))
        self.register_buffer("w_std", torch.from_numpy(w_std))
        self.register_buffer("t_mean", torch.tensor(float(np.ravel(t_mean)[0])))
        self.register_buffer("t_std", torch.tensor(float(np.ravel(t_std)[0])))
        self.conv = nn.Sequential(
            nn.Conv1d(channels, HIDDEN, 3, padding=1), nn.ReLU(),
            nn.Conv1d(HIDDEN, HIDDEN, 3, padding=2, dilation=2), nn.ReLU())
        self.rows = nn.Sequential(nn.Linear(n_features, FEATURE_HIDDEN), nn.ReLU(),
                                  nn.Dropout(DROPOUT))
        self.head = nn.Sequential(nn.Linear(2 * HIDDEN + FEATURE_HIDDEN, HIDDEN), nn.ReLU(),
                                  nn.Dropout(DROPOUT), nn.Linear(HIDDEN, 1))

    @staticmethod
    def _clean(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        z = (x - mean) / std
        z = torch.where(torch.isnan(z), torch.zeros_like(z), z)
        return torch.clamp(z, -CLIP, CLIP)

    def logit(self, features: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """Pre-activation output, shape (n,): the classifier's logit, or a regressor's
        standardised target."""
        f = self._clean(features, self.f_mean, self.f_std)
        w = self._clean(window, self.w_mean, self.w_std).transpose(1, 2)  # (n, channels, bars)
        h = self.conv(w)
        pooled = torch.cat([h.mean(dim=2), h[:, :, -1], self.rows(f)], dim=1)
        out: torch.Tensor = self.head(pooled).squeeze(1)
        return out

    def forward(self, features: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """The served output, shape (n,): P(win) for the classifier, else the target in its
        own unit (fraction or seconds).

        Args:
            features: raw input rows, float32 (n, n_features), NaN allowed.
            window: candle windows, float32 (n, n_bars, channels).
        """
        z = self.logit(features, window)
        if self.classifier:
            return torch.sigmoid(z)
        return z * self.t_std + self.t_mean
