"""The take/skip decision rule an artifact carries: rank the model's score, take the top share.

Why a rank rule and not "calibrated expected return above a margin": out of sample the
classifiers rank setups a little better than chance (AUC 0.50-0.56 on win/loss, intervals of
±0.05 from resampling weeks), so an absolute estimate of expected return is dominated by noise
and its sign flips between periods, while the ordering is the part that carries signal. A rule
stated as "take a setup whose score ranks in the top ``keep_frac`` of setups this model scores"
uses only that ordering, approves a predictable share of setups whatever the scale of a
particular model's probabilities, and cannot silently approve nothing (the failure of a fixed
0.60 / 0.65 confidence threshold on models whose calibrated scores never reach it).

How the rank is defined: every model (each walk-forward fold's and the published one) is fitted
on its training rows minus an inner, time-ordered validation slice (the newest part of its
training window, purged). Its raw scores on that slice — setups it never trained on, from the
period just before it is used — form its *reference*; a new raw score's rank is its position in
that reference (0 = below all, 1 = above all), by linear interpolation between stored
quantiles. ``keep_frac`` is chosen in the walk-forward from earlier folds only
(``training.evaluation.decision``); the published artifact stores its reference and ``keep_frac``.

No Hummingbot import; served identically by the live scripts, the replay and the backtest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

REFERENCE_POINTS: Final = 201
"""Quantiles kept of a model's reference scores (every 0.5 %): enough to rank to 0.5 %, small
enough for a readable manifest."""

RULE_KIND: Final = "score_rank"


@dataclass(frozen=True, slots=True)
class DecisionRule:
    """Take a setup when its score's rank in the model's reference reaches ``1 - keep_frac``.

    Attributes:
        reference: increasing raw scores (strictly, after merging ties) of the model on its
            inner validation slice, shape (k,), k >= 2.
        levels: rank in [0, 1] at each ``reference`` point, non-decreasing, shape (k,).
        keep_frac: share of setups the rule takes, in (0, 1].
        fitted_on: how many out-of-fold setups chose ``keep_frac`` (0 = a default).

    Raises:
        ValueError: malformed reference (fewer than 2 points, not increasing, levels outside
            [0, 1] or decreasing, non-finite) or ``keep_frac`` outside (0, 1].
    """

    reference: tuple[float, ...]
    levels: tuple[float, ...]
    keep_frac: float
    fitted_on: int = 0

    def __post_init__(self) -> None:
        ref = np.asarray(self.reference, dtype="float64")
        lev = np.asarray(self.levels, dtype="float64")
        if ref.size < 2 or ref.shape != lev.shape:
            raise ValueError("decision rule needs >= 2 reference points and as many levels")
        if not (np.isfinite(ref).all() and np.isfinite(lev).all()):
            raise ValueError("decision rule reference and levels must be finite")
        if np.any(np.diff(ref) <= 0):
            raise ValueError("decision rule reference must be strictly increasing")
        if np.any(np.diff(lev) < 0) or lev.min() < 0 or lev.max() > 1:
            raise ValueError("decision rule levels must be non-decreasing inside [0, 1]")
        if not 0 < self.keep_frac <= 1 or math.isnan(self.keep_frac):
            raise ValueError(f"keep_frac must be in (0, 1], got {self.keep_frac}")

    @property
    def min_rank(self) -> float:
        """Lowest rank the rule takes (``1 - keep_frac``)."""
        return 1.0 - self.keep_frac

    def rank(self, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Rank in [0, 1] of raw scores (any shape) against the reference, float64."""
        ranks: npt.NDArray[np.float64] = np.interp(
            np.asarray(raw, dtype="float64"), self.reference, self.levels)
        return ranks

    def take(self, rank: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each rank passes the rule (same shape as ``rank``)."""
        return np.asarray(rank, dtype="float64") >= self.min_rank - 1e-12

    def with_keep(self, keep_frac: float, fitted_on: int) -> DecisionRule:
        """The same reference with another ``keep_frac``."""
        return DecisionRule(self.reference, self.levels, keep_frac, fitted_on)

    @classmethod
    def from_scores(cls, scores: npt.ArrayLike, keep_frac: float = 0.5,
                    fitted_on: int = 0) -> DecisionRule:
        """Reference from a model's raw scores on its validation slice.

        Args:
            scores: raw scores, shape (n,), n >= 2 with at least two distinct values.
            keep_frac: share to take.
            fitted_on: see the attribute.

        Raises:
            ValueError: fewer than two distinct finite scores.
        """
        s = np.sort(np.asarray(scores, dtype="float64"))
        s = s[np.isfinite(s)]
        if s.size < 2 or s[0] == s[-1]:
            raise ValueError("a decision rule needs at least two distinct reference scores")
        q = np.linspace(0.0, 1.0, REFERENCE_POINTS)
        pts = np.quantile(s, q)
        # merge equal quantiles (tied scores): one point at the mean level of the tie
        uniq, inverse = np.unique(pts, return_inverse=True)
        levels = np.bincount(inverse, weights=q) / np.bincount(inverse)
        return cls(tuple(map(float, uniq)), tuple(map(float, levels)), keep_frac, fitted_on)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (stored in the manifest's ``decision_rule``)."""
        return {"kind": RULE_KIND, "keep_frac": self.keep_frac, "min_rank": self.min_rank,
                "fitted_on": self.fitted_on, "reference": list(self.reference),
                "levels": list(self.levels)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionRule:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: unknown kind or malformed fields.
        """
        if data.get("kind") != RULE_KIND:
            raise ValueError(f"unknown decision rule kind {data.get('kind')!r}")
        try:
            return cls(tuple(map(float, data["reference"])), tuple(map(float, data["levels"])),
                       float(data["keep_frac"]), int(data.get("fitted_on", 0)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"decision rule is missing or has a malformed field: {exc}") from None
