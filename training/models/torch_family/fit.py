"""Fitting the torch family's model set: deterministic under a seed, on CPU, early stopping on
the inner time-ordered validation slice of :func:`training.models.model_set.fit_model_set`.

Differences from the XGBoost set, and why: the exit regressors also stop early on the
validation slice (XGBoost's fixed 200 rounds of shallow trees are regularised by depth and
subsampling; a network trained a fixed number of epochs on all rows has no such brake), so
they learn from the fit rows only. Everything else — rows, targets, the rank reference from
the validation slice, the capital weights when the strategy's settings ask for them — is the
XGBoost set's.

Determinism: each network is built and trained after ``torch.manual_seed(SEED + role)`` with
its own seeded shuffling generator, on :data:`TORCH_THREADS` thread(s); two fits on the same
rows give identical weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch

from ml_signals.feature_parts.sequence import SEQUENCE_CHANNELS
from ml_signals.scoring.rule import DecisionRule
from training.evaluation.metrics import auc
from training.models.model_set import REGRESSION_TARGETS, ModelSet, TooFewSetupsError
from training.models.torch_family.net import SequenceNet

SEED: Final = 7
TORCH_THREADS: Final = 1
"""Intra-op threads while fitting: the host has 2 shared cores, and one thread keeps float
sums in one order (bit-identical refits)."""
MAX_EPOCHS: Final = 60
PATIENCE: Final = 8
"""Epochs without a better validation loss before a network stops (it keeps its best epoch)."""
BATCH: Final = 256
LEARNING_RATE: Final = 1e-3
WEIGHT_DECAY: Final = 1e-4
PREDICT_BATCH: Final = 4096


@dataclass
class SequenceModel:
    """A fitted :class:`SequenceNet` and how to read the flat training matrix.

    Attributes:
        net: the network (eval mode).
        n_features: leading columns of a flat row that are the model input row.
        n_bars: window length in candles; the rest of a flat row is the window,
            ``n_bars * len(SEQUENCE_CHANNELS)`` values.
        epochs: epochs of the kept weights (the best validation epoch).
    """

    net: SequenceNet
    n_features: int
    n_bars: int
    epochs: int

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`split_flat` with this model's sizes."""
        return split_flat(x, self.n_features, self.n_bars)

    def predict_parts(self, rows: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """Served outputs for rows (n, n_features) and windows (n, n_bars, channels),
        float64 shape (n,) (probability or target unit)."""
        self.net.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(rows), PREDICT_BATCH):
                f = torch.from_numpy(np.ascontiguousarray(rows[i:i + PREDICT_BATCH],
                                                          dtype=np.float32))
                w = torch.from_numpy(np.ascontiguousarray(windows[i:i + PREDICT_BATCH],
                                                          dtype=np.float32))
                out.append(self.net(f, w).numpy())
        return np.concatenate(out).astype("float64") if out else np.empty(0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Served outputs for flat rows (see :meth:`split`), float64 shape (n,)."""
        return self.predict_parts(*self.split(x))

    def save_onnx(self, path: Path) -> None:
        """Export to ONNX (:func:`training.models.torch_family.export.export_onnx`)."""
        from training.models.torch_family.export import export_onnx

        export_onnx(self.net, self.n_features, self.n_bars, path)


def split_flat(x: np.ndarray, n_features: int, n_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat rows (n, n_features + n_bars * channels) -> float32 input rows (n, n_features) and
    windows (n, n_bars, channels).

    Raises:
        ValueError: the row width does not fit.
    """
    width = n_features + n_bars * len(SEQUENCE_CHANNELS)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"flat inputs of shape {x.shape}, expected (n, {width})")
    rows = x[:, :n_features].astype(np.float32)
    win = x[:, n_features:].reshape(len(x), n_bars, len(SEQUENCE_CHANNELS))
    return rows, win.astype(np.float32)


def _tensors(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in arrays]


def fit_net(rows: np.ndarray, windows: np.ndarray, y: np.ndarray, val_rows: np.ndarray,
            val_windows: np.ndarray, y_val: np.ndarray, classifier: bool,
            weight: np.ndarray | None = None, weight_val: np.ndarray | None = None,
            seed: int = SEED) -> SequenceModel:
    """Fit one network with early stopping on the validation slice.

    Args:
        rows, windows: fit inputs, shapes (n, n_features) and (n, n_bars, channels).
        y: outcomes (bool, classifier) or targets (fractions / seconds), shape (n,).
        val_rows, val_windows, y_val: the validation slice, newer than every fit row.
        classifier: binary cross-entropy on the logit; else squared error on the
            standardised target.
        weight, weight_val: optional non-negative row weights (e.g. committed quote).
        seed: torch seed for the initial weights, dropout and shuffling.

    Raises:
        ValueError: no fit or no validation rows.
    """
    if len(rows) == 0 or len(val_rows) == 0:
        raise ValueError(f"a network needs fit and validation rows; got {len(rows)} and "
                         f"{len(val_rows)}")
    torch.set_num_threads(TORCH_THREADS)
    torch.manual_seed(seed)
    net = SequenceNet(rows, windows, None if classifier else y)
    scale_y = (lambda t: t) if classifier else \
        (lambda t: (t - float(net.t_mean)) / float(net.t_std))
    f, w, t = _tensors(rows, windows, scale_y(np.asarray(y, dtype="float64")))
    vf, vw, vt = _tensors(val_rows, val_windows, scale_y(np.asarray(y_val, dtype="float64")))
    wt, vwt = _tensors(np.ones(len(rows)) if weight is None else weight / weight.mean(),
                       np.ones(len(val_rows)) if weight_val is None
                       else weight_val / weight_val.mean())
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none") if classifier else \
        torch.nn.MSELoss(reduction="none")
    opt = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, best_epoch, stale = float("inf"), copy.deepcopy(net.state_dict()), 0, 0
    for epoch in range(1, MAX_EPOCHS + 1):
        net.train()
        for idx in torch.randperm(len(rows), generator=gen).split(BATCH):
            opt.zero_grad()
            loss = (loss_fn(net.logit(f[idx], w[idx]), t[idx]) * wt[idx]).mean()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val_loss = float((loss_fn(net.logit(vf, vw), vt) * vwt).mean())
        if val_loss < best - 1e-7:
            best, best_state, best_epoch, stale = val_loss, copy.deepcopy(net.state_dict()), \
                epoch, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    net.load_state_dict(best_state)
    net.eval()
    return SequenceModel(net, rows.shape[1], windows.shape[1], best_epoch)


def fit_sequence_set(strategy: str, frame: Any, rows: np.ndarray, fit: np.ndarray,
                     val: np.ndarray, x: np.ndarray, n_features: int, n_bars: int,
                     weight: np.ndarray | None, regressors: bool) -> ModelSet:
    """The torch family's :class:`~training.models.model_set.ModelSet` (called by
    :func:`training.models.model_set.fit_model_set` after it has split ``rows`` into ``fit`` /
    ``val``).

    Args:
        strategy: for messages.
        frame: the dataset frame (``win``, ``label_end_s`` and the regression targets).
        rows, fit, val: boolean masks (all training rows, fit part, validation part).
        x: flat inputs of every dataset row (:func:`training.models.torch_family.windows.
            sequence_inputs`).
        n_features, n_bars: how to split a flat row.
        weight: optional per-row classifier weights over the whole dataset.
        regressors: also fit the exit regressors.

    Raises:
        TooFewSetupsError: the classifier's validation scores are all equal (it learned
            nothing).
    """
    rows_fit, win_fit = split_flat(x[fit], n_features, n_bars)
    rows_val, win_val = split_flat(x[val], n_features, n_bars)
    win = frame["win"].to_numpy(dtype=bool)
    clf = fit_net(rows_fit, win_fit, win[fit], rows_val, win_val, win[val], True,
                  None if weight is None else weight[fit],
                  None if weight is None else weight[val])
    reference = clf.predict_parts(rows_val, win_val)
    try:
        rule = DecisionRule.from_scores(reference)
    except ValueError as exc:
        raise TooFewSetupsError(f"{strategy}: {exc} (the classifier learned nothing)") \
            from None
    models: dict[str, Any] = {"classifier": clf}
    if regressors:
        for offset, (role, target) in enumerate(REGRESSION_TARGETS.items(), start=1):
            y = frame[target].to_numpy("float64")
            models[role] = fit_net(rows_fit, win_fit, y[fit], rows_val, win_val, y[val], False,
                                   seed=SEED + offset)
    label_end = frame["label_end_s"].to_numpy(dtype="int64")
    return ModelSet(models, rule, auc(win[fit], clf.predict_parts(rows_fit, win_fit)),
                    clf.epochs, int(label_end[rows].max()))
