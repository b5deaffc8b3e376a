"""Range (channel) trades filtered by the channel model (original plan, recovery plan
``CHANNEL_STRENGTH``; rules in ``ml_signals.setups.channel``).

A horizontal, respected range with the close near its support is a setup; the model takes it by its
artifact's decision rule (or ``confidence_threshold`` when set). The position ($100, scaled by the
score's size multiplier) opens at market and runs as a Hummingbot ``PositionExecutor`` with take
profit, stop loss and time limit from the score.

Start: ``start --v2 conf_ml_channel.yml``.
"""

from pathlib import Path

from pydantic import Field

from ml_signals import setups
from ml_signals.hummingbot import script_base, script_config


class MlChannelConfig(script_config.MlScriptConfigBase):
    """``ml_channel`` settings: the shared fields plus the channel detector and its threshold."""

    script_file_name: str = Path(__file__).name
    confidence_threshold: float | None = Field(default=None, ge=0, le=1, json_schema_extra={
        "prompt": "Minimum model confidence to take a setup (0-1); empty: the model's own rule",
        "prompt_on_new": False})
    channel: setups.ChannelConfig = Field(default_factory=setups.ChannelConfig, json_schema_extra={
        "prompt": "Channel detector and position settings", "prompt_on_new": False})

    def strategy_settings(self) -> list[script_config.StrategySetting]:
        """Only the channel strategy."""
        return [("channel", self.channel, self.confidence_threshold)]


class MlChannel(script_base.MlScriptBase):
    """Channel positions through ``PositionExecutor``; all logic in ``ml_signals.hummingbot``."""
