"""Model families behind one small protocol: load a verified artifact folder, predict a batch.

The :class:`~ml_signals.scoring.scorer.Scorer` owns everything around the models (rank,
calibration, decision rule, clipping into a :class:`~ml_signals.scoring.score.Score`); a
backend only turns input rows (and, for a sequence family, candle windows) into the four raw
outputs. The manifest's ``model_family`` picks the backend (:func:`load_backend`):

- ``xgboost``: four XGBoost boosters (UBJ), one thread each;
- ``torch``: four sequence networks trained with torch and exported to ONNX, served with
  onnxruntime (no torch import here: the Hummingbot image needs only onnxruntime). Each graph
  takes ``features`` (n, len(input_columns)) and ``window`` (n, n_bars, channels) float32 and
  returns ``output`` (n,): the classifier's probability, or a regressor's target in its own
  unit (fractions, seconds). Input scaling lives inside the graph.

Shape after freqtrade's ``BaseClassifierModel`` / ``XGBoostClassifier`` split
(STYLE.md § 14): a second family is a small module, not a fork of the scorer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from ml_signals.feature_parts.sequence import SEQUENCE_CHANNELS
from ml_signals.scoring.artifact import (
    MODEL_FILES,
    ONNX_MODEL_FILES,
    TORCH,
    XGBOOST,
    ArtifactError,
    model_family,
)

ROLES: Final[tuple[str, ...]] = tuple(MODEL_FILES)
"""Outputs every backend predicts: ``classifier`` (P(win)), ``take_profit`` and ``stop_loss``
(fractions), ``hold`` (seconds)."""


class ModelBackend(Protocol):
    """What the scorer needs from a model family.

    Attributes:
        family: the manifest's ``model_family``.
        window_bars: candles of context per setup (:func:`~ml_signals.feature_parts.sequence.
            candle_windows`); 0 when the family reads the feature row only.
    """

    family: str
    window_bars: int

    def predict(self, rows: npt.NDArray[np.float64],
                windows: npt.NDArray[Any] | None = None) -> dict[str, npt.NDArray[np.float64]]:
        """Raw outputs by role (:data:`ROLES`), each float64 shape (n,).

        Args:
            rows: model input rows, shape (n, len(input_columns)), float64 (NaN allowed).
            windows: candle windows, shape (n, window_bars, channels); required when
                ``window_bars`` > 0, ignored otherwise.

        Raises:
            ArtifactError: windows missing or of the wrong shape for a sequence family.
        """
        ...


class XGBoostBackend:
    """Four XGBoost boosters by role; reads no candle window."""

    family: str = XGBOOST
    window_bars: int = 0

    def __init__(self, models: dict[str, xgb.Booster], columns: tuple[str, ...]) -> None:
        self.models = models
        self.columns = columns

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> XGBoostBackend:
        """Read and check the boosters of a verified artifact folder.

        Raises:
            ArtifactError: a file is not a readable XGBoost model, or a model's inputs differ
                from the manifest's ``input_columns``.
        """
        columns = tuple(manifest.get("input_columns", ()))
        models = {}
        for role, name in MODEL_FILES.items():
            booster = xgb.Booster()
            try:
                booster.load_model(str(folder / name))
            except xgb.core.XGBoostError as exc:
                raise ArtifactError(f"{folder / name}: not a readable XGBoost model: "
                                    f"{str(exc).splitlines()[0]}") from None
            if tuple(booster.feature_names or ()) != columns:
                raise ArtifactError(
                    f"{folder / name}: model inputs {booster.feature_names} differ from the "
                    f"manifest's field 'input_columns' ({len(columns)} columns)")
            # one row per call: extra OpenMP threads only spin and steal the tick's CPU
            booster.set_param({"nthread": 1})
            models[role] = booster
        return cls(models, columns)

    def predict(self, rows: npt.NDArray[np.float64],
                windows: npt.NDArray[Any] | None = None) -> dict[str, npt.NDArray[np.float64]]:
        """See :meth:`ModelBackend.predict` (``windows`` ignored)."""
        del windows
        matrix = xgb.DMatrix(rows, feature_names=list(self.columns))
        return {role: booster.predict(matrix).astype("float64")
                for role, booster in self.models.items()}


class OnnxSequenceBackend:
    """Four ONNX sequence networks by role, run by onnxruntime on one thread each."""

    family: str = TORCH

    def __init__(self, sessions: dict[str, Any], n_columns: int, window_bars: int) -> None:
        self.sessions = sessions
        self.n_columns = n_columns
        self.window_bars = window_bars

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> OnnxSequenceBackend:
        """Open the ONNX graphs of a verified artifact folder and check their inputs.

        The manifest's ``sequence`` block gives ``n_bars`` and ``channels``; the channels must
        be this code's :data:`~ml_signals.feature_parts.sequence.SEQUENCE_CHANNELS`.

        Raises:
            ArtifactError: ``sequence`` missing or for other channels, a file onnxruntime
                cannot load, or a graph whose inputs differ from the manifest (names, feature
                count, window length, channels).
        """
        import onnxruntime as ort  # runtime dependency; imported only when a torch model loads

        seq = manifest.get("sequence")
        if not isinstance(seq, dict) or not isinstance(seq.get("n_bars"), int):
            raise ArtifactError(f"{folder}: manifest field 'sequence.n_bars' is missing")
        if tuple(seq.get("channels", ())) != SEQUENCE_CHANNELS:
            raise ArtifactError(f"{folder}: manifest field 'sequence.channels' "
                                f"{seq.get('channels')} differs from this code's "
                                f"{list(SEQUENCE_CHANNELS)}; retrain the model")
        n_cols, n_bars = len(manifest.get("input_columns", ())), int(seq["n_bars"])
        want = {"features": [n_cols], "window": [n_bars, len(SEQUENCE_CHANNELS)]}
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one setup per call: threads only spin
        options.inter_op_num_threads = 1
        sessions = {}
        for role, name in ONNX_MODEL_FILES.items():
            try:
                session = ort.InferenceSession(str(folder / name), options,
                                               providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
                raise ArtifactError(f"{folder / name}: not a readable ONNX model: "
                                    f"{str(exc).splitlines()[0]}") from None
            got = {i.name: list(i.shape[1:]) for i in session.get_inputs()}
            if got != want:
                raise ArtifactError(f"{folder / name}: graph inputs {got} differ from the "
                                    f"manifest's input_columns / sequence {want}")
            sessions[role] = session
        return cls(sessions, n_cols, n_bars)

    def predict(self, rows: npt.NDArray[np.float64],
                windows: npt.NDArray[Any] | None = None) -> dict[str, npt.NDArray[np.float64]]:
        """See :meth:`ModelBackend.predict`."""
        want = (len(rows), self.window_bars, len(SEQUENCE_CHANNELS))
        if windows is None:
            raise ArtifactError(f"{self.family} model reads the last {self.window_bars} candles "
                                "of the pair; no candle window was given")
        if tuple(windows.shape) != want:
            raise ArtifactError(f"candle windows of shape {tuple(windows.shape)}, "
                                f"the model needs {want}")
        feed = {"features": np.ascontiguousarray(rows, dtype=np.float32),
                "window": np.ascontiguousarray(windows, dtype=np.float32)}
        return {role: session.run(None, feed)[0].reshape(-1).astype("float64")
                for role, session in self.sessions.items()}


BACKENDS: Final[dict[str, Any]] = {XGBOOST: XGBoostBackend, TORCH: OnnxSequenceBackend}
"""Backend class by ``model_family``."""


def load_backend(folder: Path, manifest: dict[str, Any]) -> ModelBackend:
    """The backend the manifest's ``model_family`` names, loaded from ``folder`` (whose hashes
    :func:`~ml_signals.scoring.artifact.read_manifest` has verified).

    Raises:
        ArtifactError: unknown family, or the family's own load errors.
    """
    try:
        family = model_family(manifest)
    except ArtifactError as exc:
        raise ArtifactError(f"{folder}: {exc}") from None
    backend: ModelBackend = BACKENDS[family].load(folder, manifest)
    return backend
