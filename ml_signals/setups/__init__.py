"""Rule-based setup detectors, one per module; :func:`make_detector` builds one by name."""

from __future__ import annotations

from ml_signals.setups.base import EntryPlan, Setup, SetupDetector, StrategyName
from ml_signals.setups.channel import ChannelConfig, ChannelDetector
from ml_signals.setups.dca import DcaConfig, DcaDetector
from ml_signals.setups.swing import SwingConfig, SwingDetector

STRATEGIES: tuple[StrategyName, ...] = ("dca", "swing", "channel")

DetectorConfig = DcaConfig | SwingConfig | ChannelConfig


def make_detector(
    strategy: StrategyName, config: DetectorConfig | None = None, interval_s: int = 3600
) -> SetupDetector:
    """Build the detector for ``strategy`` with ``config`` (defaults from the original plan).

    Raises:
        ValueError: unknown strategy, or a config of another strategy's type.
    """
    classes: dict[str, tuple[type[SetupDetector], type]] = {
        "dca": (DcaDetector, DcaConfig),
        "swing": (SwingDetector, SwingConfig),
        "channel": (ChannelDetector, ChannelConfig),
    }
    if strategy not in classes:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(classes)}")
    detector_cls, config_cls = classes[strategy]
    if config is not None and not isinstance(config, config_cls):
        raise ValueError(f"{strategy} detector needs a {config_cls.__name__}, got {config!r}")
    return detector_cls(config, interval_s)  # type: ignore[call-arg]


__all__ = [
    "STRATEGIES",
    "ChannelConfig",
    "ChannelDetector",
    "DcaConfig",
    "DcaDetector",
    "DetectorConfig",
    "EntryPlan",
    "Setup",
    "SetupDetector",
    "StrategyName",
    "SwingConfig",
    "SwingDetector",
    "make_detector",
]
