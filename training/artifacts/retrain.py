"""Retraining housekeeping: purge old model versions, never the published one.

``python -m training retrain --data DIR [--keep N] [train options]`` trains, gates and
publishes exactly as ``train`` does (:func:`training.cli.train_commands.run_train`) and then,
when training succeeded, purges: per strategy it keeps the newest ``N`` versions (default
:data:`DEFAULT_KEEP`) and always the one ``current`` names, and deletes the other version
folders. The weekly retrain loop (``docker/retrain_loop.sh``, compose profile ``retrain``;
docs/retraining.md) runs that command.

What counts as a version: a folder under ``models/<strategy>/`` holding ``manifest.json``.
Newest first by the manifest's ``created_at_s`` (the training time; ties by folder name, whose
``<strategy>-YYYYmmddTHHMMSSZ`` stamp sorts by time); a manifest that cannot be read ranks by
the folder's modification time. Folders without a manifest (a training still writing, or
anything else) are never deleted. A running script that still uses an old version is not
harmed: it holds its models in memory and loads only what ``current`` names.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from ml_signals.scoring.artifact import CURRENT, MANIFEST

log = logging.getLogger(__name__)

DEFAULT_KEEP = 5
"""Versions kept per strategy: five weekly retrains, about a month of history to roll back to
or compare with (freqtrade's ``purge_old_models`` keeps 2 by default; a DCA version trained on
the shipped sample takes 0.7 MB)."""


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge did for one strategy.

    Attributes:
        strategy: the strategy folder.
        current: the version ``current`` names (``None`` when unpublished).
        kept: versions kept, newest first.
        removed: versions deleted, newest first.
    """

    strategy: str
    current: str | None
    kept: tuple[str, ...]
    removed: tuple[str, ...]

    def describe(self) -> str:
        """One line for the console."""
        return (f"{self.strategy}: kept {len(self.kept)} version(s) (current "
                f"{self.current or 'none'}), removed {len(self.removed)}"
                + (f": {', '.join(self.removed)}" if self.removed else ""))


def _created_s(folder: Path) -> float:
    """Training time of a version (manifest ``created_at_s``), else the folder's mtime."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return float(manifest["created_at_s"])
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("%s: manifest unreadable; ranked by the folder's modification time", folder)
        return folder.stat().st_mtime


def versions_newest_first(models_dir: Path, strategy: str) -> list[str]:
    """Version folders of ``strategy`` (those holding ``manifest.json``), newest first."""
    root = models_dir / strategy
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if p.is_dir() and (p / MANIFEST).is_file()]
    return [p.name for p in sorted(folders, key=lambda p: (_created_s(p), p.name),
                                   reverse=True)]


def purge_versions(models_dir: Path, strategy: str, keep: int = DEFAULT_KEEP,
                   dry_run: bool = False) -> PurgeResult:
    """Delete all but the newest ``keep`` versions of ``strategy``, never the current one.

    Args:
        models_dir: the models folder.
        strategy: strategy folder name.
        keep: versions to keep, >= 1 (the current one is kept in addition when it is older).
        dry_run: report what would go, delete nothing.

    Raises:
        ValueError: ``keep`` < 1.
    """
    if keep < 1:
        raise ValueError(f"--keep must be >= 1, got {keep}")
    pointer = models_dir / strategy / CURRENT
    current = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None
    ordered = versions_newest_first(models_dir, strategy)
    kept = [v for i, v in enumerate(ordered) if i < keep or v == current]
    removed = [v for v in ordered if v not in kept]
    for version in removed:
        if not dry_run:
            shutil.rmtree(models_dir / strategy / version)
        log.info("%s: %s old version %s", strategy, "would remove" if dry_run else "removed",
                 version)
    return PurgeResult(strategy, current, tuple(kept), tuple(removed))


def purge_all(models_dir: Path, strategies: list[str], keep: int = DEFAULT_KEEP,
              dry_run: bool = False) -> list[PurgeResult]:
    """:func:`purge_versions` for each strategy folder present under ``models_dir``.

    Raises:
        ValueError: ``keep`` < 1.
    """
    return [purge_versions(models_dir, s, keep, dry_run) for s in strategies
            if (models_dir / s).is_dir()]
