"""A temporary Hummingbot root for the headless client: ``conf/``, ``scripts/``, ``logs/``.

Laid out as the Docker image lays out ``/home/hummingbot`` (``docker-compose.yml`` mounts
``hummingbot_scripts/`` as ``scripts/`` and ``conf/`` as ``conf/``):

* ``conf/conf_client.yml``: the repo's paper-trade section (``conf/conf_client_paper_trade.yml``)
  with MQTT off; Hummingbot fills in every other field with its defaults;
* ``conf/scripts/<conf>.yml``: the script's shipped YAML with the test's overrides;
* ``scripts/``: the repo's ``hummingbot_scripts/*.py`` (links), as the ``scripts`` package;
* ``hummingbot``: a link to the installed package (Hummingbot lists its connectors and copies
  its templates from ``<root>/hummingbot``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hummingbot
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def build_root(root: Path, script: str, overrides: dict[str, Any]) -> str:
    """Lay out ``root`` for ``script`` (``"ml_swing"``); returns the V2 config file name.

    Args:
        root: an empty folder.
        script: script module name in ``hummingbot_scripts/``.
        overrides: top-level YAML keys replacing the shipped ones (nested dicts merged one
            level deep).

    Raises:
        FileNotFoundError: the script or its shipped YAML is missing.
    """
    package = Path(hummingbot.__file__).resolve().parent
    (root / "hummingbot").symlink_to(package, target_is_directory=True)
    for folder in ("conf/scripts", "conf/connectors", "conf/strategies", "conf/controllers",
                   "scripts", "controllers", "logs", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    paper = yaml.safe_load((REPO_ROOT / "conf" / "conf_client_paper_trade.yml").read_text())
    client = {**paper, "mqtt_bridge": {"mqtt_autostart": False}}
    (root / "conf" / "conf_client.yml").write_text(yaml.safe_dump(client))
    (root / "scripts" / "__init__.py").write_text('"""Scripts folder of the e2e client."""\n')
    for source in (REPO_ROOT / "hummingbot_scripts").glob("ml_*.py"):
        (root / "scripts" / source.name).symlink_to(source)
    shipped = REPO_ROOT / "conf" / "scripts" / f"conf_{script}.yml"
    config = yaml.safe_load(shipped.read_text())
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    name = f"conf_{script}_e2e.yml"
    (root / "conf" / "scripts" / name).write_text(yaml.safe_dump(config, sort_keys=False))
    return name
