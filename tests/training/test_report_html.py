"""HTML report of a real (small) training run and its backtests: self-contained, every section,
headline numbers equal to the backtest stats, valid PNG figures."""

from __future__ import annotations

import base64
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.labels import FeeSchedule
from training.pipeline import TrainingRun, train_all
from training.report_html import (
    fmt_int,
    fmt_num,
    fmt_rate,
    fmt_signed_pct,
    fmt_utc,
    headline_cells,
    write_html_report,
)

PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
STRATEGIES = ("dca", "channel")  # swing has too few setups on three pairs to train
SECTION_HEADINGS = (
    "Headline: rules only vs ML-filtered",
    "Equity curves and drawdown",
    "Trades by exit reason",
    "Per-pair results",
    "Calibration (reliability) of out-of-fold confidence",
    "Feature importance (classifier gain)",
    "Per-fold metrics",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(sample_binance) -> TrainingRun:
    """dca and channel trained on three real sample pairs with three folds (no artifact)."""
    candle_sets = {p: sample_binance[p] for p in PAIRS}
    return train_all(candle_sets, "BTC-USDT", STRATEGIES, FeeSchedule(), None, n_folds=3,
                     progress=False)


@pytest.fixture(scope="module")
def backtests(run):
    return run_backtests_for(run)


@pytest.fixture(scope="module")
def report(run, backtests, tmp_path_factory) -> Path:
    return write_html_report(tmp_path_factory.mktemp("report"), run, backtests)


class _Rows(HTMLParser):
    """Collects, per ``<tr id=...>``, the text of its ``<td>`` cells, and every heading."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.headings: list[str] = []
        self.imgs: list[str] = []
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("id"):
            self._row = a["id"]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag in ("h2", "h3"):
            self._heading = []
        elif tag == "img":
            self.imgs.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)


def _parse(path: Path) -> tuple[str, _Rows]:
    text = path.read_text(encoding="utf-8")
    parser = _Rows()
    parser.feed(text)
    return text, parser


def test_report_is_self_contained_with_every_section(report):
    text, parsed = _parse(report)
    assert report.name == "index.html"
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    assert "<script" not in text.lower() and "@import" not in text
    for heading in SECTION_HEADINGS:
        assert any(h.startswith(heading) for h in parsed.headings), heading
    # every figure is embedded and also written beside index.html
    files = sorted(report.parent.glob("*.png"))
    assert parsed.imgs and len(parsed.imgs) == len(files)
    embedded = set()
    for src in parsed.imgs:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png.startswith(PNG_MAGIC)
        embedded.add(png)
    for f in files:
        data = f.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC)
        assert data in embedded, f.name


def test_one_figure_per_scope_and_strategy(report, run, backtests):
    names = {f.name for f in report.parent.glob("*.png")}
    scopes = {k[0] for k in backtests}
    assert {f"equity_{s}.png" for s in scopes} <= names
    for strategy in run.strategies:
        assert f"calibration_{strategy}.png" in names
        assert f"importance_{strategy}.png" in names
    assert "exit_reasons.png" in names


def test_headline_numbers_equal_backtest_stats(report, backtests):
    _, parsed = _parse(report)
    assert backtests
    for (scope, mode, slice_name), bt in backtests.items():
        cells = parsed.rows[f"headline-{slice_name}-{scope}-{mode}"][1:]  # after the mode chip
        assert cells == headline_cells(bt.stats), (scope, mode, slice_name)
        # what the trader reads is the backtest's own count
        assert cells[0] == fmt_int(len(bt.trades))


def test_fallback_without_backtests_uses_label_stats(run, tmp_path):
    path = write_html_report(tmp_path / "labels_only", run, None)
    text, parsed = _parse(path)
    assert "per-setup label statistics" in text and "Needs backtest results" in text
    for strategy, sr in run.strategies.items():
        for slice_name, metrics in (("oof", sr.result.overall), ("quarantine",
                                                                  sr.result.quarantine)):
            if metrics is None:
                continue
            rules = parsed.rows[f"headline-{slice_name}-{strategy}-rules"][1:]
            ml = parsed.rows[f"headline-{slice_name}-{strategy}-ml"][1:]
            assert rules == headline_cells(metrics.all_setups.to_dict())
            assert ml == headline_cells(metrics.ml_approved.to_dict())
            assert rules[4:] == ["–", "–", "–"]  # Sharpe, drawdown, return need the backtest
    assert not list(path.parent.glob("equity_*.png"))


def test_fold_table_shows_each_fold_window_and_auc(report, run):
    text, _ = _parse(report)
    for sr in run.strategies.values():
        for fm in sr.result.fold_metrics:
            window = f"{fmt_utc(fm['test_start_s'], False)} → {fmt_utc(fm['test_end_s'], False)}"
            assert window in text
            assert f"<td>{fmt_num(fm['auc'], 3)}</td>" in text


def test_formatters():
    assert fmt_signed_pct(0.01234) == "+1.23%"
    assert fmt_signed_pct(-0.5) == "-50.00%"
    assert fmt_signed_pct(-0.00001) == "0.00%"
    assert fmt_signed_pct(float("nan")) == "–"
    assert fmt_rate(0.5648) == "56.5%"
    assert fmt_num(1.3593) == "1.36" and fmt_num(math.inf) == "∞" and fmt_num(None) == "–"
    assert fmt_int(1234) == "1,234"
    assert fmt_utc(1_738_144_800) == "2025-01-29T10:00Z"
    assert fmt_utc(1_738_144_800, with_time=False) == "2025-01-29"
    cells = headline_cells({"trades": 3, "win_rate": 2 / 3, "profit_factor": 2.0,
                            "expectancy_frac": 0.01, "sharpe": 1.234,
                            "max_drawdown_frac": 0.05, "total_return_frac": -0.02})
    assert cells == ["3", "66.7%", "2.00", "+1.00%", "1.23", "-5.00%", "-2.00%"]


# --- backtests ----------------------------------------------------------------------------

def run_backtests_for(run: TrainingRun):
    """The backtest engine's results for ``run``; until ``training.backtest`` exists, results
    built from the run's own labels (rules-only trades = the filled, resolved setups of the
    slice; ML = those at or above the confidence threshold), shaped like the engine's."""
    try:
        from training.backtest import run_backtests  # noqa: F401
    except ImportError:
        return _label_backtests(run)
    raise NotImplementedError("wire the backtest engine here")


class _LabelBacktest:
    def __init__(self, trades: pd.DataFrame, config: dict, initial_quote: float,
                 span_s: tuple[int, int]) -> None:
        self.trades = trades
        self.skipped = pd.DataFrame(columns=["setup_id", "strategy", "pair", "decision_s",
                                             "reason"])
        self.config = config
        end = max(span_s[1], int(trades["exit_ts"].max()) + 3600) if len(trades) else span_s[1]
        grid = np.arange(span_s[0] // 3600 * 3600, end + 3600, 3600, dtype="int64")
        realised = np.cumsum(np.bincount(np.searchsorted(grid, trades["exit_ts"].to_numpy()),
                                         trades["net_pnl_quote"].to_numpy(), grid.size))
        equity = initial_quote + realised
        self.equity = pd.DataFrame({"timestamp": grid, "equity_quote": equity,
                                    "cash_quote": equity, "open_positions": 0})
        ret = np.diff(equity) / equity[:-1]
        peak = np.maximum.accumulate(equity)
        r, pnl = trades["net_return_frac"].to_numpy(), trades["net_pnl_quote"].to_numpy()
        loss, nan = -pnl[pnl < 0].sum(), math.nan
        self.stats = {
            "trades": len(trades), "win_rate": float((r > 0).mean()) if len(r) else nan,
            "profit_factor": float(pnl[pnl > 0].sum() / loss) if loss > 0 else (
                math.inf if len(r) else nan),
            "expectancy_frac": float(r.mean()) if len(r) else nan,
            "sharpe": float(ret.mean() / ret.std() * math.sqrt(8760)) if ret.std() > 0 else 0.0,
            "max_drawdown_frac": float((equity / peak - 1).min()),
            "total_return_frac": float(equity[-1] / initial_quote - 1),
        }


def _label_backtests(run: TrainingRun) -> dict:
    out = {}
    config = {"initial_quote": 10_000.0, "source": "label replay"}
    plan = next(iter(run.strategies.values())).result.plan
    data_end = max(sr.dataset.data_end_s for sr in run.strategies.values())
    slices = (("oof", lambda f: f > 0, (plan.folds[0].test_start_s, plan.quarantine_start_s)),
              ("quarantine", lambda f: f == -1, (plan.quarantine_start_s, data_end)))
    for slice_name, keep, span in slices:
        for mode in ("rules", "ml"):
            parts = []
            for strategy, sr in run.strategies.items():
                frame, oof = sr.dataset.frame, sr.result.oof
                rows = keep(oof["fold"].to_numpy()) & sr.result.trainable
                if mode == "ml":
                    rows &= oof["confidence"].to_numpy() >= sr.scoring.confidence_threshold
                t = frame.loc[rows, ["setup_id", "pair", "decision_s", "entry_ts", "exit_ts",
                                     "entry_price", "exit_price", "fees_quote",
                                     "net_pnl_quote", "net_return_frac", "exit_reason"]].copy()
                t.insert(1, "strategy", strategy)
                t["amount_quote"] = frame.loc[rows, "filled_quote"]
                t["slippage_quote"] = 0.0
                t["confidence"] = oof.loc[rows, "confidence"]
                t["size_multiplier"] = 1.0
                out[(strategy, mode, slice_name)] = _LabelBacktest(t, config, 10_000.0, span)
                parts.append(t)
            combined = pd.concat(parts, ignore_index=True).sort_values("exit_ts")
            out[("combined", mode, slice_name)] = _LabelBacktest(combined, config, 10_000.0, span)
    return out
