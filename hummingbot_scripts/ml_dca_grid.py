"""DCA grid filtered and sized by the DCA model (original plan, "DCA Strategy").

After a sharp drop (>= 5 % below the 4h high, volume above average, BTC not crashing) the DCA
detector proposes a grid of maker limit buys (5 levels, 1 % apart, $100 each); the model takes it
by its artifact's decision rule (or ``confidence_threshold`` when set); a stronger score enlarges
every level (``size_multiplier``), a weaker one widens the spacing (``max_spacing_widen_frac``,
formula in ``ml_signals.decision.sizing``); take profit, stop loss and time limit come from the
score. The grid runs as a Hummingbot ``DCAExecutor``.

Start: ``start --v2 conf_ml_dca_grid.yml``.
"""

from pathlib import Path

from pydantic import Field

from ml_signals import setups
from ml_signals.decision import sizing as entry_sizing
from ml_signals.hummingbot import script_base, script_config


class MlDcaGridConfig(script_config.MlScriptConfigBase):
    """``ml_dca_grid`` settings: the shared fields plus the DCA detector and its threshold."""

    script_file_name: str = Path(__file__).name
    confidence_threshold: float | None = Field(default=None, ge=0, le=1, json_schema_extra={
        "prompt": "Minimum model confidence to take a setup (0-1); empty: the model's own rule",
        "prompt_on_new": False})
    max_spacing_widen_frac: float = Field(default=0.5, ge=0, le=2, json_schema_extra={
        "prompt": "Extra grid spacing at the threshold confidence (fraction)",
        "prompt_on_new": False})
    dca: setups.DcaConfig = Field(default_factory=setups.DcaConfig, json_schema_extra={
        "prompt": "DCA detector and grid settings", "prompt_on_new": False})

    def strategy_settings(self) -> list[script_config.StrategySetting]:
        """Only the DCA strategy."""
        return [("dca", self.dca, self.confidence_threshold)]

    def sizing(self) -> entry_sizing.SizingConfig:
        """Confidence widens the grid spacing by up to ``max_spacing_widen_frac``."""
        return entry_sizing.SizingConfig(max_spacing_widen_frac=self.max_spacing_widen_frac)


class MlDcaGrid(script_base.MlScriptBase):
    """DCA grids through ``DCAExecutor``; all logic in ``ml_signals.hummingbot``."""
