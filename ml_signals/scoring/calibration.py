"""Calibration: a monotone map from a model's score rank to P(the setup wins after fees).

Two stored forms, both plain JSON (no pickle) and both checked at load (monotone, inside
[0, 1]):

* :class:`PlattCalibration` (what training writes): ``p = 1 / (1 + exp(-(a * rank + b)))``
  with ``a >= 0``, fitted by logistic regression on pooled earlier out-of-fold ``(rank, win)``
  pairs. Two parameters suit a weak signal: an isotonic step function on a few thousand noisy
  outcomes puts whole ranges of scores on one step and may never reach a threshold.
* :class:`IsotonicCalibration`: interpolated isotonic points; fitting merges adjacent points
  until every step holds at least ``min_bin`` outcomes.

Training fits with scikit-learn; serving needs only NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

MIN_BIN: Final = 50
"""Fewest outcomes behind one isotonic step (a step on fewer is noise at these hit rates)."""


class Calibration(Protocol):
    """Anything that maps ranks to calibrated probabilities and serialises itself."""

    def apply(self, rank: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, same shape as ``rank``."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with a ``method`` key."""


@dataclass(frozen=True, slots=True)
class PlattCalibration:
    """Logistic map ``p = sigmoid(a * rank + b)``.

    Attributes:
        a: slope, >= 0 (monotone non-decreasing).
        b: intercept.
        fitted_on: outcomes it was fitted on.

    Raises:
        ValueError: non-finite parameters or a negative slope.
    """

    a: float
    b: float
    fitted_on: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError("Platt calibration parameters must be finite")
        if self.a < 0:
            raise ValueError(f"Platt calibration slope must be >= 0 (monotone), got {self.a}")

    def apply(self, rank: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probabilities in (0, 1), float64, same shape as ``rank``."""
        z = self.a * np.asarray(rank, dtype="float64") + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"method": "platt", "a": self.a, "b": self.b, "fitted_on": self.fitted_on}

    @classmethod
    def fit(cls, rank: npt.ArrayLike, outcome: npt.ArrayLike) -> PlattCalibration:
        """Fit on ranks in [0, 1] and 0/1 outcomes (same length, both classes present).

        A fitted negative slope (a score that ranks losers higher) is clamped to 0: the map then
        returns the base rate for every rank, which is the honest calibration of such a score.

        Raises:
            ValueError: empty input, mismatched lengths or a single class.
        """
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(rank, dtype="float64").reshape(-1, 1)
        y = np.asarray(outcome, dtype=bool)
        if x.shape[0] != y.size or y.size == 0 or y.all() or not y.any():
            raise ValueError("Platt calibration needs equally many ranks and outcomes, "
                             "with wins and losses")
        model = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
        a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
        if a < 0:
            p = float(y.mean())
            a, b = 0.0, math.log(p / (1 - p))
        return cls(a, b, int(y.size))


@dataclass(frozen=True, slots=True)
class IsotonicCalibration:
    """Monotone map by linear interpolation between points, clipped at both ends.

    Attributes:
        x: non-decreasing thresholds, shape (k,).
        y: calibrated probabilities at ``x``, non-decreasing, in [0, 1], shape (k,).

    Raises:
        ValueError: empty or mismatched points, decreasing ``x`` or ``y``, ``y`` outside
            [0, 1], non-finite values.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype="float64")
        y = np.asarray(self.y, dtype="float64")
        if x.size != y.size or x.size == 0:
            raise ValueError("calibration needs equally many (>= 1) x and y points")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("calibration points must be finite")
        if np.any(np.diff(x) < 0):
            raise ValueError("calibration x must be non-decreasing")
        if np.any(np.diff(y) < 0) or y.min() < 0 or y.max() > 1:
            raise ValueError("calibration y must be non-decreasing inside [0, 1]")

    def apply(self, rank: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probabilities (any shape), float64."""
        probs: npt.NDArray[np.float64] = np.interp(
            np.asarray(rank, dtype="float64"), self.x, self.y)
        return probs

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def fit(cls, rank: npt.ArrayLike, outcome: npt.ArrayLike,
            min_bin: int = MIN_BIN) -> IsotonicCalibration:
        """Isotonic fit whose every step holds at least ``min_bin`` outcomes.

        Raises:
            ValueError: empty or mismatched input.
        """
        from sklearn.isotonic import IsotonicRegression

        r = np.asarray(rank, dtype="float64")
        y = np.asarray(outcome, dtype="float64")
        if r.size == 0 or r.size != y.size:
            raise ValueError("isotonic calibration needs equally many (>= 1) ranks and outcomes")
        order = np.argsort(r, kind="mergesort")
        r, y = r[order], y[order]
        # pre-bin into consecutive groups of >= min_bin so no step rests on fewer outcomes
        n_bins = max(1, r.size // max(min_bin, 1))
        edges = np.linspace(0, r.size, n_bins + 1).astype(int)
        bx = np.array([r[a:b].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)])
        by = np.array([y[a:b].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)])
        bw = np.diff(edges).astype("float64")
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        fitted = iso.fit(bx, by, sample_weight=bw).predict(bx)
        return cls(tuple(map(float, bx)), tuple(map(float, np.maximum.accumulate(fitted))))


def calibration_from_json(data: dict[str, Any]) -> PlattCalibration | IsotonicCalibration:
    """Load either stored form.

    Raises:
        ValueError: unknown method, missing or malformed fields, or a map that is not monotone
            inside [0, 1].
    """
    method = data.get("method")
    try:
        if method == "platt":
            return PlattCalibration(float(data["a"]), float(data["b"]),
                                    int(data.get("fitted_on", 0)))
        if method == "isotonic":
            return IsotonicCalibration(tuple(map(float, data["x"])), tuple(map(float, data["y"])))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"calibration is missing or has a malformed field: {exc}") from None
    raise ValueError(f"unknown calibration method {method!r}")
