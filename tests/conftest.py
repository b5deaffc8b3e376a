"""Shared fixtures: the repository's real candle sample and, when present, the shared data set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.data import CandleSet, load_candles, load_dir

REPO_ROOT = Path(__file__).resolve().parents[1]

SAMPLE_BINANCE_PAIRS = ("BTC-USDT", "DOGE-USDT", "ETH-USDT", "LINK-USDT", "SOL-USDT", "XRP-USDT")
"""The six Binance 1h pairs shipped in data/sample/binance (see data/sample/README.md)."""


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Repository root (the folder holding pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def sample_dir(repo_root: Path) -> Path:
    """``data/sample``: real Binance feather and Kraken CSV candles shipped with the repo."""
    return repo_root / "data" / "sample"


@pytest.fixture(scope="session")
def sample_binance(sample_dir: Path) -> dict[str, CandleSet]:
    """The six shipped Binance 1h pairs, ``{"BTC-USDT": CandleSet, ...}``, loaded once."""
    return load_dir(sample_dir / "binance", interval="1h")


@pytest.fixture(scope="session")
def shared_data_dir(repo_root: Path) -> Path:
    """The full real data set beside the repo (``<repo>/../shared/data``); skips when absent."""
    path = repo_root.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data set not found at {path}")
    return path


@pytest.fixture(scope="session")
def kraken_frames(sample_dir: Path) -> dict[str, pd.DataFrame]:
    """Canonical 1h frames of the shipped Kraken sample: ``{"BTC-USD": ..., "ETH-USD": ...}``."""
    frames = {}
    for name in ("XBTUSD_60.csv", "ETHUSD_60.csv"):
        candle_set = load_candles(sample_dir / "kraken" / name)
        frames[candle_set.pair] = candle_set.frame
    return frames
