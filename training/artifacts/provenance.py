"""What an artifact was trained on: data window, data-file hashes, detector, label and fees."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ml_signals.scoring.artifact import sha256_file
from ml_signals.setups import make_detector
from training.data import CandleSet
from training.labels.dataset import SetupDataset
from training.labels.outcomes import FeeSchedule, LabelConfig


def data_provenance(
    candle_sets: Mapping[str, CandleSet],
    ds: SetupDataset,
    fees: FeeSchedule,
    label_config: LabelConfig,
) -> dict[str, Any]:
    """JSON-ready provenance for the manifest (times in UTC seconds, hashes sha256 hex)."""
    files = {}
    window = {}
    for pair, cs in sorted(candle_sets.items()):
        if cs.path:
            files[Path(cs.path).name] = sha256_file(Path(cs.path))
        ts = cs.frame["timestamp"]
        window[pair] = {"start_s": int(ts.iloc[0]), "end_s": int(ts.iloc[-1]) + cs.interval_s,
                        "candles": len(ts), "filled_bars": cs.filled_bars}
    detector = make_detector(ds.strategy)
    return {
        "data": {"window": window, "file_sha256": files, "data_end_s": ds.data_end_s},
        "detector": {"class": type(detector).__name__, "config": detector.config.model_dump()},
        "labels": {"config": _plain(label_config), "fees": _plain(fees)},
        "setups": len(ds.frame),
    }


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return obj
