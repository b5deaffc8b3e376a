"""Scoring bounds and thresholds per strategy (fractions, seconds)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ScoringConfig(BaseModel):
    """How a model's raw outputs become a :class:`~ml_signals.scoring.score.Score`.

    Defaults follow the original plan's ``ML_CONFIG`` targets: take profit 3-15 %, stop loss
    5-12 %, size multiplier 0.5-1.5x, hold 12-72 hours.

    ``confidence_threshold``: ``None`` (default) takes setups by the artifact's own decision
    rule (:class:`~ml_signals.scoring.rule.DecisionRule`, chosen ex ante in the walk-forward).
    A number overrides it: take when the calibrated confidence reaches it (the plan's
    ``ml_confidence_minimum`` 0.60, 0.65 for swing); the scorer logs a warning when it does,
    since a fixed threshold ignores how the model was validated.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence_threshold: float | None = Field(None, ge=0, le=1)
    take_profit_min_frac: float = Field(0.03, gt=0)
    take_profit_max_frac: float = Field(0.15, gt=0)
    stop_loss_min_frac: float = Field(0.05, gt=0, lt=1)
    stop_loss_max_frac: float = Field(0.12, gt=0, lt=1)
    size_min: float = Field(0.5, gt=0)
    size_max: float = Field(1.5, gt=0)
    hold_min_s: int = Field(12 * 3600, gt=0)
    hold_max_s: int = Field(72 * 3600, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ScoringConfig:
        pairs = [
            ("take_profit", self.take_profit_min_frac, self.take_profit_max_frac),
            ("stop_loss", self.stop_loss_min_frac, self.stop_loss_max_frac),
            ("size", self.size_min, self.size_max),
            ("hold", self.hold_min_s, self.hold_max_s),
        ]
        for name, lo, hi in pairs:
            if lo > hi:
                raise ValueError(f"{name}: min {lo} > max {hi}")
        return self

    def size_multiplier(self, strength: float, cut: float) -> float:
        """Position size multiplier, piecewise linear and monotone in the rule's ``strength``
        (rank or confidence, in [0, 1]): ``size_min`` at 0, 1.0 at ``cut``, ``size_max`` at 1."""
        t = cut
        if strength >= t:
            span = 1.0 - t
            mult = 1.0 + (self.size_max - 1.0) * ((strength - t) / span if span > 0 else 1.0)
        else:
            mult = self.size_min + (1.0 - self.size_min) * (strength / t if t > 0 else 1.0)
        return float(min(max(mult, self.size_min), self.size_max))


DEFAULT_SCORING: dict[str, ScoringConfig] = {
    "dca": ScoringConfig(),
    "swing": ScoringConfig(stop_loss_min_frac=0.03),
    "channel": ScoringConfig(
        take_profit_min_frac=0.01, stop_loss_min_frac=0.01, stop_loss_max_frac=0.08,
        hold_max_s=48 * 3600,
    ),
}
"""Per-strategy defaults: the plan's bounds for DCA; swing's stop may go down to 3 %; channel
targets scale with the range height, so its bounds are wider. Every strategy takes setups by its
artifact's decision rule unless a script configures a confidence threshold."""
