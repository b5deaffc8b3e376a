"""Isotonic calibration stored as plain JSON points and applied by linear interpolation.

Fitting uses scikit-learn's ``IsotonicRegression`` (training only); serving reproduces its
``predict`` exactly with ``numpy.interp`` on the fitted thresholds, clipped at both ends, so the
live side needs neither scikit-learn nor pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class IsotonicCalibration:
    """Monotone map from raw classifier probability to calibrated probability.

    Attributes:
        x: increasing raw-probability thresholds, shape (k,).
        y: calibrated probabilities at ``x``, non-decreasing, in [0, 1], shape (k,).
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or len(self.x) == 0:
            raise ValueError("calibration needs equally many (>= 1) x and y points")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("calibration x must be non-decreasing")

    def apply(self, raw: np.ndarray | float) -> np.ndarray:
        """Calibrated probabilities for raw probabilities (any shape), float64."""
        return np.interp(np.asarray(raw, dtype="float64"), self.x, self.y)

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> IsotonicCalibration:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: unknown method or malformed points.
        """
        if data.get("method") != "isotonic":
            raise ValueError(f"unknown calibration method {data.get('method')!r}")
        return cls(tuple(map(float, data["x"])), tuple(map(float, data["y"])))  # type: ignore[arg-type]

    @classmethod
    def fit(cls, raw: np.ndarray, outcome: np.ndarray) -> IsotonicCalibration:
        """Fit on out-of-fold raw probabilities and 0/1 outcomes (same length, >= 1)."""
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(np.asarray(raw, dtype="float64"), np.asarray(outcome, dtype="float64"))
        return cls(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)))
