"""Write a trained model set as an artifact the scorer can verify (see
:mod:`ml_signals.scoring.artifact` for the layout)."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from ml_signals.features import FEATURE_COLUMNS, feature_code_hash
from ml_signals.scoring.artifact import (
    CALIBRATION,
    MANIFEST,
    MODEL_FILES,
    SCHEMA_VERSION,
    publish,
    sha256_file,
)
from ml_signals.scoring.config import ScoringConfig
from training.dataset import SetupDataset
from training.train import TrainResult

LIBRARIES = ("xgboost", "numpy", "pandas", "pandas-ta", "scikit-learn", "pyarrow")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model depends on, plus Python's."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def write_artifact(
    models_dir: Path,
    ds: SetupDataset,
    result: TrainResult,
    scoring: ScoringConfig,
    provenance: dict[str, Any],
    now_s: int | None = None,
) -> Path:
    """Write ``models/<strategy>/<version>/`` and point ``current`` at it.

    Args:
        models_dir: root of the models folder (created if missing).
        ds: the dataset the models were trained on.
        result: walk-forward result with the published models.
        scoring: bounds and threshold the artifact is meant to be served with.
        provenance: data window, data-file hashes, detector/label/fee settings (JSON-ready).
        now_s: creation time, UTC seconds (defaults to now).

    Returns:
        The version folder.
    """
    now_s = int(time.time()) if now_s is None else now_s
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_s))
    version = f"{ds.strategy}-{stamp}"
    folder = models_dir / ds.strategy / version
    folder.mkdir(parents=True, exist_ok=True)
    for role, name in MODEL_FILES.items():
        result.models[role].save_model(str(folder / name))
    (folder / CALIBRATION).write_text(json.dumps(result.calibration.to_json()), encoding="utf-8")
    files = {name: sha256_file(folder / name) for name in [*MODEL_FILES.values(), CALIBRATION]}
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "strategy": ds.strategy,
        "version": version,
        "created_at_s": now_s,
        "feature_columns": list(FEATURE_COLUMNS),
        "feature_code_hash": feature_code_hash(),
        "input_columns": list(ds.input_columns),
        "scoring": scoring.model_dump(),
        "walk_forward": {
            "folds": [
                {k: v for k, v in m.items() if k in ("fold", "test_start_s", "test_end_s",
                                                     "train_rows", "calibrated")}
                for m in result.fold_metrics
            ],
            "quarantine_start_s": result.plan.quarantine_start_s,
            "final_train_rows": int((result.plan.final_train & result.trainable).sum()),
        },
        "metrics": {
            "folds": result.fold_metrics,
            "overall_out_of_fold": result.overall.to_dict() if result.overall else None,
            "quarantine": result.quarantine.to_dict() if result.quarantine else None,
        },
        "libraries": library_versions(),
        **provenance,
        "files": files,
    }
    text = json.dumps(_finite(manifest), indent=2, default=_json_default, allow_nan=False)
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    publish(models_dir, ds.strategy, version)
    return folder


def _finite(value: Any) -> Any:
    """Strict JSON: NaN and infinities become ``null`` (e.g. an undefined profit factor)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json_default(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "item"):
        return value.item()  # NumPy scalars
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
