"""The scorer's answer for one setup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SHADOW_PREFIX: Final = "shadow:"
"""Prefix of a shadow score's ``model_version`` (:mod:`ml_signals.scoring.shadow`)."""


def shadow_version(name: str, version: str) -> str:
    """``model_version`` of a shadow score: ``"shadow:<name>:<version>"`` (``name``:
    ``"challenger"`` or a rule variant; ``version``: the artifact version scoring)."""
    return f"{SHADOW_PREFIX}{name}:{version}"


def parse_shadow_version(model_version: str) -> tuple[str, str] | None:
    """``(name, version)`` of a shadow ``model_version``; ``None`` for a champion's."""
    if not model_version.startswith(SHADOW_PREFIX):
        return None
    name, _, version = model_version[len(SHADOW_PREFIX):].partition(":")
    return (name, version) if name and version else None


@dataclass(frozen=True, slots=True)
class Score:
    """Model (or rules-only) verdict on a setup, in Hummingbot units.

    Attributes:
        confidence: calibrated probability in [0, 1] that the setup nets a profit after fees;
            ``None`` when no model is loaded (rules-only).
        take: whether the setup passes the decision rule (the artifact's rank rule, or a
            configured confidence threshold); always True rules-only.
        take_profit_frac: take profit as a fraction of entry (0.05 = 5 %).
        stop_loss_frac: stop loss as a positive fraction of entry.
        size_multiplier: scales the configured quote size, within [0.5, 1.5].
        expected_hold_s: expected time in the position, seconds.
        model_version: artifact version string, or ``"rules-only"``.
        strength: what the rule compared, in [0, 1]: the score's rank in the model's reference
            (artifact rule) or the confidence (configured threshold); ``None`` rules-only.
        cut: the value ``strength`` had to reach; ``None`` rules-only. Sizing and DCA spacing
            scale with ``strength`` relative to ``cut``.
        rule: one-line description of the rule applied (for logs and skip reasons).
    """

    confidence: float | None
    take: bool
    take_profit_frac: float
    stop_loss_frac: float
    size_multiplier: float
    expected_hold_s: int
    model_version: str
    strength: float | None = None
    cut: float | None = None
    rule: str = "rules-only"

    @property
    def rules_only(self) -> bool:
        """True when no model contributed to this score."""
        return self.confidence is None
