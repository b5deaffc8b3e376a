"""Swing breakouts filtered by the swing model (original plan, "Swing Trading Strategy").

A close >= 3 % above the prior resistance (48 h high) with 2x volume, RSI > 60 and the 4h trend up
is a setup; the model takes it by its artifact's decision rule (or ``confidence_threshold`` when
set; the plan's swing threshold is 0.65). The position ($200, scaled by the score's size
multiplier) opens at market and runs as a Hummingbot ``PositionExecutor`` with a triple barrier:
take profit, stop loss and time limit from the score, the detector's trailing stop (arms at +7 %,
trails 7 %).

Start: ``start --v2 conf_ml_swing.yml``.
"""

from pathlib import Path

from pydantic import Field

from ml_signals import setups
from ml_signals.hummingbot import script_base, script_config


class MlSwingConfig(script_config.MlScriptConfigBase):
    """``ml_swing`` settings: the shared fields plus the swing detector and its threshold."""

    script_file_name: str = Path(__file__).name
    confidence_threshold: float | None = Field(default=None, ge=0, le=1, json_schema_extra={
        "prompt": "Minimum model confidence to take a setup (0-1); empty: the model's own rule",
        "prompt_on_new": False})
    swing: setups.SwingConfig = Field(default_factory=setups.SwingConfig, json_schema_extra={
        "prompt": "Swing detector and position settings", "prompt_on_new": False})

    def strategy_settings(self) -> list[script_config.StrategySetting]:
        """Only the swing strategy."""
        return [("swing", self.swing, self.confidence_threshold)]


class MlSwing(script_base.MlScriptBase):
    """Swing positions through ``PositionExecutor``; all logic in ``ml_signals.hummingbot``."""
