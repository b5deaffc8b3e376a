"""Retraining: purge of old versions (never the published one), the retrain command through the
compose service's loop script, and the compose service itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from refresh_support import REPO, TrainedModels, models_copy

from training.artifacts.retrain import purge_versions, versions_newest_first


def add_old_version(models: Path, source: str, name: str, created_at_s: int) -> str:
    """A copy of a real version under another name, trained ``created_at_s`` (the manifest is
    not among its own hashed files, so the copy still verifies)."""
    folder = models / "dca" / name
    shutil.copytree(models / "dca" / source, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(version=name, created_at_s=created_at_s)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return name


@pytest.fixture
def history(trained: TrainedModels, tmp_path):
    """The two trained versions plus three older copies; current = the oldest copy."""
    models = models_copy(trained, tmp_path / "models")
    old = [add_old_version(models, trained.a, f"dca-2025010{d}T000000Z", 1735689600 + d * 86400)
           for d in (1, 2, 3)]
    (models / "dca" / "current").write_text(old[0] + "\n")
    (models / "dca" / "dca-partial").mkdir()  # a training still writing: no manifest yet
    return models, old


def test_purge_keeps_the_newest_and_the_current_version(trained, history):
    models, old = history
    assert versions_newest_first(models, "dca") == [trained.b, trained.a, old[2], old[1], old[0]]
    dry = purge_versions(models, "dca", keep=2, dry_run=True)
    assert dry.removed == (old[2], old[1]) and (models / "dca" / old[2]).is_dir()
    result = purge_versions(models, "dca", keep=2)
    assert result.current == old[0]
    assert result.kept == (trained.b, trained.a, old[0])
    assert result.removed == (old[2], old[1])
    left = sorted(p.name for p in (models / "dca").iterdir())
    assert left == sorted([trained.a, trained.b, old[0], "current", "dca-partial"])
    with pytest.raises(ValueError, match="--keep must be >= 1"):
        purge_versions(models, "dca", keep=0)


def test_retrain_loop_runs_retrain_once_then_purges(trained, history, tmp_path):
    models, old = history
    env = {**os.environ, "PYTHON": sys.executable, "RETRAIN_ONCE": "1",
           "RETRAIN_DATA": "data/sample/binance", "MODELS_DIR": str(models),
           "REPORTS_DIR": str(tmp_path / "reports"), "RETRAIN_KEEP": "2",
           "RETRAIN_ARGS": "--strategies dca --no-null --publish never"}
    done = subprocess.run(["sh", "docker/retrain_loop.sh"], cwd=REPO, env=env,  # noqa: S603, S607
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    versions = versions_newest_first(models, "dca")
    new = versions[0]
    assert new not in (trained.a, trained.b, *old)
    # --publish never: current stays; keep 2 = the new version and the newest before it
    assert (models / "dca" / "current").read_text().strip() == old[0]
    assert versions == [new, trained.b, old[0]]
    assert (models / "dca" / "dca-partial").is_dir()
    assert f"purge: dca: kept 3 version(s) (current {old[0]}), removed 3" in done.stdout
    assert "retrain: done" in done.stdout


def test_retrain_refuses_keep_below_one(tmp_path):
    done = subprocess.run(  # noqa: S603 - this interpreter, this repository's CLI
        [sys.executable, "-m", "training", "retrain", "--keep", "0", "--models",
         str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2 and "--keep must be >= 1, got 0" in done.stderr


def test_loop_refuses_a_bad_interval():
    env = {**os.environ, "RETRAIN_INTERVAL_S": "weekly", "PYTHON": "false"}
    done = subprocess.run(["sh", "docker/retrain_loop.sh"], cwd=REPO, env=env,  # noqa: S603, S607
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "RETRAIN_INTERVAL_S must be whole seconds" in done.stderr


def test_compose_retrain_service_writes_the_shared_models_folder():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["retrain"]
    assert service["profiles"] == ["retrain"]
    volumes = service["volumes"]
    assert "./models:/home/hummingbot/models" in volumes  # read-write, the bot's folder
    script = next(v for v in volumes if v.startswith("./docker/retrain_loop.sh:"))
    target = script.split(":")[1]
    assert service["command"] == ["sh", target]
    assert "environment" not in service  # settings come from docker/.env
    assert "./models:/home/hummingbot/models:ro" in compose["services"]["hummingbot"]["volumes"]
