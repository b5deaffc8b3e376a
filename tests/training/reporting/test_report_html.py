"""HTML report of a real (small) training run and its backtests: self-contained, every section,
headline numbers equal to the backtest stats, valid PNG figures."""

from __future__ import annotations

import base64
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from training.backtest import BacktestConfig, run_backtests
from training.backtest.stats import CLOSED_REASONS
from training.labels.outcomes import FeeSchedule
from training.pipeline import TrainingRun, train_all
from training.reporting.formatting import (
    fmt_int,
    fmt_num,
    fmt_rate,
    fmt_signed_pct,
    fmt_utc,
)
from training.reporting.html import headline_cells, write_html_report

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
        # the count a trader reads is the backtest's closed trades
        assert cells[0] == fmt_int(bt.trades["exit_reason"].isin(CLOSED_REASONS).sum())


def test_per_pair_table_adds_up_to_the_headline(report, run, backtests):
    _, parsed = _parse(report)
    columns = [(s, m) for s in ("oof", "quarantine") for m in ("rules", "ml")]
    total = parsed.rows["pair-all"]
    for i, (slice_name, mode) in enumerate(columns):
        bt = backtests[("combined", mode, slice_name)]
        assert total[3 * i] == fmt_int(bt.stats["trades"])
        per_pair = [parsed.rows[f"pair-{pair}"][3 * i] for pair in run.candle_sets]
        assert sum(int(c.replace(",", "")) for c in per_pair) == bt.stats["trades"]


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
            ci = fm.get("auc_ci")
            interval = f" [{fmt_num(ci[0], 3)}, {fmt_num(ci[1], 3)}]" if ci else ""
            assert f"<td>{fmt_num(fm['auc'], 3)}{interval}</td>" in text


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


# --- backtests ---------------------------------------------------------------------------

def run_backtests_for(run: TrainingRun):
    """The portfolio backtester's results for ``run`` with its default settings."""
    return run_backtests(run, BacktestConfig())
