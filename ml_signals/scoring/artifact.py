"""Model artifact layout, hashing and verification (no pickle: XGBoost UBJ or ONNX + plain JSON).

Layout, one folder per strategy under a models directory::

    models/<strategy>/current                  text file naming the current version folder
    models/<strategy>/<version>/manifest.json  what was trained, on what, how well, file hashes
    models/<strategy>/<version>/classifier.ubj take/skip classifier (XGBoost's own format)
    models/<strategy>/<version>/take_profit.ubj, stop_loss.ubj, hold.ubj   regressors
    models/<strategy>/<version>/calibration.json rank -> P(win) map (Platt or isotonic)
    models/<strategy>/<version>/decision_rule.json the take/skip rule (score reference, keep share)

The manifest's ``model_family`` names the model files (:data:`FAMILY_MODEL_FILES`):
``xgboost`` (the ``.ubj`` files above; also an artifact without the field) or ``torch``
(``classifier.onnx``, ``take_profit.onnx``, ``stop_loss.onnx``, ``hold.onnx``: a sequence
network exported to ONNX, scored with onnxruntime, no torch needed to serve).

The manifest's ``files`` map holds the sha256 of every other file and must list every file the
scorer reads (:data:`REQUIRED_FILES`); :func:`read_manifest` refuses an artifact with a file
missing from the map, missing on disk or failing its hash, so a half-copied or edited artifact
never scores.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Final

MANIFEST: Final = "manifest.json"
CURRENT: Final = "current"
MODEL_FILES: Final[dict[str, str]] = {
    "classifier": "classifier.ubj",
    "take_profit": "take_profit.ubj",
    "stop_loss": "stop_loss.ubj",
    "hold": "hold.ubj",
}
ONNX_MODEL_FILES: Final[dict[str, str]] = {
    role: f"{role}.onnx" for role in ("classifier", "take_profit", "stop_loss", "hold")}
XGBOOST: Final = "xgboost"
TORCH: Final = "torch"
FAMILY_MODEL_FILES: Final[dict[str, dict[str, str]]] = {XGBOOST: MODEL_FILES,
                                                        TORCH: ONNX_MODEL_FILES}
"""Model files by ``model_family``, role -> file name."""
CALIBRATION: Final = "calibration.json"
DECISION_RULE: Final = "decision_rule.json"
REQUIRED_FILES: Final[tuple[str, ...]] = (*MODEL_FILES.values(), CALIBRATION, DECISION_RULE)
"""Every file the scorer reads for an XGBoost artifact; each must be listed and hashed in the
manifest (:func:`required_files` for any family)."""


def model_family(manifest: dict[str, Any]) -> str:
    """The manifest's ``model_family`` (``xgboost`` when absent: artifacts written before the
    field existed are XGBoost).

    Raises:
        ArtifactError: a family this code cannot serve.
    """
    family = manifest.get("model_family", XGBOOST)
    if family not in FAMILY_MODEL_FILES:
        raise ArtifactError(f"manifest field 'model_family' is {family!r}; this code serves "
                            f"{', '.join(FAMILY_MODEL_FILES)}")
    return str(family)


def required_files(family: str) -> tuple[str, ...]:
    """Every file the scorer reads for an artifact of ``family``.

    Raises:
        KeyError: unknown family (:func:`model_family` checks it first).
    """
    return (*FAMILY_MODEL_FILES[family].values(), CALIBRATION, DECISION_RULE)
SCHEMA_VERSION: Final = 2
"""2: rank decision rule, Platt calibration on the rank, gate verdict (1: isotonic on raw
probabilities with a fixed threshold)."""


class ArtifactError(RuntimeError):
    """An artifact is missing a file, fails its hash check, or does not fit this code."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (streamed in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def current_version_dir(models_dir: Path, strategy: str) -> Path | None:
    """Folder of the current artifact of ``strategy``, or ``None`` when none was published.

    Raises:
        ArtifactError: the ``current`` pointer names a folder that does not exist.
    """
    pointer = models_dir / strategy / CURRENT
    if not pointer.is_file():
        return None
    version = pointer.read_text(encoding="utf-8").strip()
    folder = models_dir / strategy / version
    if not version or not folder.is_dir():
        raise ArtifactError(f"{pointer} points to {version!r}, which is not a folder")
    return folder


def pointer_stamp(models_dir: Path, strategy: str) -> tuple[int, int, int] | None:
    """``(inode, size, mtime_ns)`` of ``models/<strategy>/current``, ``None`` when absent: a
    cheap test for a new publication (:func:`publish` renames a new file over the pointer, so
    the inode changes even within one mtime tick)."""
    try:
        st = (models_dir / strategy / CURRENT).stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_manifest(folder: Path) -> dict[str, Any]:
    """Load ``manifest.json`` and verify the sha256 of every file it lists.

    Raises:
        ArtifactError: manifest missing or unreadable, schema version unknown, an unknown
            ``model_family``, a file the scorer reads (for that family) not listed, a listed
            file missing, or a hash mismatch (the message names the file and the field).
    """
    path = folder / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: schema_version {manifest.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArtifactError(f"{path}: field 'files' is missing or not a mapping")
    try:
        family = model_family(manifest)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None
    unlisted = [name for name in required_files(family) if name not in files]
    if unlisted:
        raise ArtifactError(f"{path}: field 'files' does not list {', '.join(unlisted)}; every "
                            f"file the scorer reads must be hashed")
    for name, expected in files.items():
        file = folder / name
        if not file.is_file():
            raise ArtifactError(f"{file} listed in the manifest is missing")
        actual = sha256_file(file)
        if actual != expected:
            raise ArtifactError(f"{file} fails its hash check: sha256 {actual} != {expected}")
    return manifest


def publish(models_dir: Path, strategy: str, version: str) -> None:
    """Point ``models/<strategy>/current`` at ``version`` (atomic rename of the pointer file).

    Raises:
        ArtifactError: ``version`` is not a folder under ``models/<strategy>/``.
    """
    if not version or not (models_dir / strategy / version).is_dir():
        raise ArtifactError(f"{models_dir / strategy / version} is not an artifact folder")
    pointer = models_dir / strategy / CURRENT
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(pointer)
