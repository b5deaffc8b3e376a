"""Write a trained model set as an artifact the scorer can verify (see
:mod:`ml_signals.scoring.artifact` for the layout)."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from ml_signals.feature_parts.sequence import SEQUENCE_CHANNELS
from ml_signals.features import FEATURE_COLUMNS, feature_code_hash
from ml_signals.scoring.artifact import (
    CALIBRATION,
    DECISION_RULE,
    FAMILY_MODEL_FILES,
    MANIFEST,
    SCHEMA_VERSION,
    TORCH,
    publish,
    required_files,
    sha256_file,
)
from ml_signals.scoring.config import ScoringConfig
from training.labels.dataset import SetupDataset
from training.models.train import TrainResult

log = logging.getLogger(__name__)

LIBRARIES = ("xgboost", "numpy", "pandas", "pandas-ta", "scikit-learn", "pyarrow",
             "torch", "onnx", "onnxruntime")


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
    publish_mode: str = "gate",
    exit_choice: dict[str, Any] | None = None,
    sizing_choice: dict[str, Any] | None = None,
    family_selection: dict[str, Any] | None = None,
) -> tuple[Path, bool]:
    """Write ``models/<strategy>/<version>/``; point ``current`` at it when allowed.

    The model files are those of the result's family (``evidence.settings.family``,
    ``xgboost`` by default): XGBoost UBJ, or ONNX graphs for ``torch``; the manifest names the
    family (``model_family``), and for ``torch`` the window (``sequence``); every file is
    hashed.

    Every version is written, with the gate's verdict in its manifest; ``current`` moves only
    when ``publish_mode`` is ``"always"``, or ``"gate"`` and the verdict passed. A rule that
    approved no out-of-fold setup is never published.

    Args:
        models_dir: root of the models folder (created if missing).
        ds: the dataset the models were trained on.
        result: walk-forward result with the published models, rule, calibration, verdict.
        scoring: bounds the artifact is meant to be served with.
        provenance: data window, data-file hashes, detector/label/fee settings (JSON-ready).
        now_s: creation time, UTC seconds (defaults to now).
        publish_mode: ``"gate"``, ``"always"`` or ``"never"``.
        exit_choice: :func:`training.evaluation.exit_choice.choose_exit_source`'s result, stored as
        the manifest's ``exits`` (its ``source`` tells the scorer whose exits to trade);
            ``None`` keeps the regressors' exits (``source: model``).
        sizing_choice: :func:`training.evaluation.size_choice.choose_sizing`'s result, stored as
            ``sizing``; ``None`` sizes by rank (``source: rank``).
        family_selection: when several families were trained, each one's evidence and verdict
            and the chosen one (:func:`training.evaluation.decision.choose_family`), stored as the
            manifest's ``family_selection``.

    Returns:
        The version folder and whether ``current`` now points at it.

    Raises:
        ValueError: unknown ``publish_mode``.
    """
    if publish_mode not in ("gate", "always", "never"):
        raise ValueError(f"publish_mode must be gate, always or never, got {publish_mode!r}")
    now_s = int(time.time()) if now_s is None else now_s
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_s))
    version = f"{ds.strategy}-{stamp}"
    folder = models_dir / ds.strategy / version
    folder.mkdir(parents=True, exist_ok=True)
    settings = result.evidence.get("settings") or {}
    family = str(settings.get("family", "xgboost"))
    for role, name in FAMILY_MODEL_FILES[family].items():
        model = result.models[role]
        if family == TORCH:
            model.save_onnx(folder / name)
        else:
            model.save_model(str(folder / name))
    (folder / CALIBRATION).write_text(json.dumps(result.calibration.to_json()), encoding="utf-8")
    (folder / DECISION_RULE).write_text(json.dumps(result.rule.to_json()), encoding="utf-8")
    files = {name: sha256_file(folder / name) for name in required_files(family)}
    verdict = result.verdict
    oof = result.evidence.get("oof") or {}
    approved_oof = int(oof.get("approved") or 0)
    published = (publish_mode == "always" or (publish_mode == "gate" and verdict is not None
                                              and verdict.passed)) and approved_oof > 0
    if publish_mode == "always" and approved_oof == 0:
        log.warning("%s: not published although --publish always: its rule took no "
                    "out-of-fold setup, so it could never trade", ds.strategy)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "strategy": ds.strategy,
        "version": version,
        "model_family": family,
        "created_at_s": now_s,
        "feature_columns": list(FEATURE_COLUMNS),
        "feature_code_hash": feature_code_hash(),
        "input_columns": list(ds.input_columns),
        **({"sequence": {"n_bars": int(settings["window_bars"]),
                         "channels": list(SEQUENCE_CHANNELS)}} if family == TORCH else {}),
        **({"family_selection": family_selection} if family_selection else {}),
        "scoring": scoring.model_dump(),
        "training_settings": result.evidence.get("settings"),
        "exits": exit_choice or {"source": "model"},
        "sizing": sizing_choice or {"source": "rank"},
        "decision_rule": {"kind": "score_rank", "keep_frac": result.rule.keep_frac,
                          "min_rank": result.rule.min_rank,
                          "fitted_on": result.rule.fitted_on, "file": DECISION_RULE},
        "calibration": {k: v for k, v in result.calibration.to_json().items()},
        "gate": {
            "verdict": "pass" if verdict is not None and verdict.passed else "fail",
            "checks": verdict.checks if verdict is not None else {},
            "reasons": list(verdict.reasons) if verdict is not None else [],
            "publish_mode": publish_mode,
            "published": published,
        },
        "evidence": result.evidence,
        "train_label_end_s": result.final_label_end_s,
        "walk_forward": {
            "folds": [
                {k: v for k, v in m.items() if k in ("fold", "test_start_s", "test_end_s",
                                                     "train_rows", "rounds", "ex_ante_rule",
                                                     "keep_frac")}
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
    if published:
        publish(models_dir, ds.strategy, version)
    return folder, published


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
