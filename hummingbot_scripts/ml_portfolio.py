"""DCA, swing and channel together in one bot (original plan, "Strategy Orchestration").

Every closed candle, each strategy's setups are scored as in its own script; then the round is
settled by ``ml_signals.orchestration``: capital split by ``allocation`` (plan: DCA 60 % /
swing 40 % of deployable capital, 20 % reserve; channel runs when given a weight, weights are
normalised), one position per pair with the higher confidence winning, opposing signals on a
pair skipping both, and a strategy whose allocation is used up pausing for the round. The risk
guards then check the survivors in rank order.

Start: ``start --v2 conf_ml_portfolio.yml``.
"""

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ml_signals import orchestration, setups
from ml_signals.decision import sizing as entry_sizing
from ml_signals.hummingbot import script_base, script_config


def _no_thresholds() -> dict[str, float | None]:
    """No configured threshold: each strategy takes setups by its artifact's decision rule."""
    return {"dca": None, "swing": None, "channel": None}


DEFAULT_WEIGHTS = {"dca": 0.6, "swing": 0.4, "channel": 0.2}
"""The plan's 60 / 40 DCA / swing split, plus channel at 0.2 (normalised: 50 / 33 / 17 %)."""


class MlPortfolioConfig(script_config.MlScriptConfigBase):
    """``ml_portfolio`` settings: the shared fields, the three detectors, their thresholds and
    the capital allocation."""

    script_file_name: str = Path(__file__).name
    confidence_thresholds: dict[str, float | None] = Field(
        default_factory=_no_thresholds, json_schema_extra={
            "prompt": "Minimum confidence per strategy (dca, swing, channel); empty: the "
                      "model's own rule",
            "prompt_on_new": False})
    max_spacing_widen_frac: float = Field(default=0.5, ge=0, le=2, json_schema_extra={
        "prompt": "Extra DCA grid spacing at the threshold confidence (fraction)",
        "prompt_on_new": False})
    allocation: orchestration.AllocationConfig = Field(json_schema_extra={
        "prompt": "Capital split between strategies", "prompt_on_new": False})
    dca: setups.DcaConfig = Field(default_factory=setups.DcaConfig, json_schema_extra={
        "prompt": "DCA detector and grid settings", "prompt_on_new": False})
    swing: setups.SwingConfig = Field(default_factory=setups.SwingConfig, json_schema_extra={
        "prompt": "Swing detector and position settings", "prompt_on_new": False})
    channel: setups.ChannelConfig = Field(default_factory=setups.ChannelConfig, json_schema_extra={
        "prompt": "Channel detector and position settings", "prompt_on_new": False})

    @field_validator("confidence_thresholds")
    @classmethod
    def _check_thresholds(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        missing = sorted(set(setups.STRATEGIES) - set(value))
        unknown = sorted(set(value) - set(setups.STRATEGIES))
        if missing or unknown:
            raise ValueError(f"confidence_thresholds needs exactly {list(setups.STRATEGIES)}; "
                             f"missing {missing}, unknown {unknown}")
        bad = {k: v for k, v in value.items() if v is not None and not 0 <= v <= 1}
        if bad:
            raise ValueError(f"confidence thresholds must be in [0, 1], got {bad}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_allocation(cls, data: object) -> object:
        """``allocation`` defaults to ``capital_quote`` and :data:`DEFAULT_WEIGHTS`."""
        if not isinstance(data, dict) or isinstance(data.get("allocation"),
                                                    orchestration.AllocationConfig):
            return data
        allocation = dict(data.get("allocation") or {})
        allocation.setdefault("total_capital_quote", data.get(
            "capital_quote", cls.model_fields["capital_quote"].default))
        allocation.setdefault("weights", dict(DEFAULT_WEIGHTS))
        return {**data, "allocation": allocation}

    @model_validator(mode="after")
    def _one_capital(self) -> "MlPortfolioConfig":
        if self.allocation.total_capital_quote != self.capital_quote:
            total = self.allocation.total_capital_quote
            raise ValueError(f"allocation.total_capital_quote ({total})"
                             f" must equal capital_quote ({self.capital_quote}): one capital "
                             "feeds both the allocation and the risk equity")
        return self

    def strategy_settings(self) -> list[script_config.StrategySetting]:
        """Every strategy with a capital weight > 0."""
        configs: dict[str, setups.DetectorConfig] = {
            "dca": self.dca, "swing": self.swing, "channel": self.channel}
        return [(name, configs[name], self.confidence_thresholds[name])
                for name in setups.STRATEGIES if self.allocation.weight_frac(name) > 0]

    def sizing(self) -> entry_sizing.SizingConfig:
        """DCA grids widen by up to ``max_spacing_widen_frac`` (market entries ignore it)."""
        return entry_sizing.SizingConfig(max_spacing_widen_frac=self.max_spacing_widen_frac)

    def orchestrator(self) -> orchestration.StrategyOrchestrator:
        """The plan's capital split and conflict rules."""
        return orchestration.StrategyOrchestrator(self.allocation)


class MlPortfolio(script_base.MlScriptBase):
    """DCA, swing and channel in one instance; all logic in ``ml_signals.hummingbot``."""
