"""Static checks of the container files (no Docker engine needed).

- docker-compose.yml parses and every bind-mounted host path exists in the repository;
- the Dockerfile's base image is pinned (a tag, not ``latest``);
- the image's command runs the Hummingbot client, and every ``conf/scripts/conf_ml_*.yml``
  names a script file that exists in ``hummingbot_scripts/`` (mounted as Hummingbot's scripts);
- the runtime dependencies of pyproject.toml are installed by the Dockerfile;
- docker/.env.example holds no secret values, and docker/.env is git-ignored.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "docker" / "Dockerfile"
ENV_EXAMPLE = REPO / "docker" / ".env.example"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _bind_mounts(service: dict) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2] if isinstance(volume, str) else (
            volume["source"], volume["target"])
        if source.startswith((".", "/")):
            mounts.append((source, target))
    return mounts


def _dockerfile_args() -> dict[str, str]:
    text = DOCKERFILE.read_text()
    return dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.M))


def test_compose_parses_with_hummingbot_and_training_services(compose: dict) -> None:
    assert set(compose["services"]) >= {"hummingbot", "training"}
    assert compose["services"]["hummingbot"]["container_name"] == "hummingbot"


def test_every_bind_mounted_host_path_exists(compose: dict) -> None:
    checked = 0
    for name, service in compose["services"].items():
        for source, target in _bind_mounts(service):
            assert (REPO / source).exists(), f"{name}: {source} -> {target} missing in the repo"
            checked += 1
    assert checked >= 5


def test_official_layout_and_read_only_models(compose: dict) -> None:
    mounts = dict(_bind_mounts(compose["services"]["hummingbot"]))
    assert mounts["./hummingbot_scripts"] == "/home/hummingbot/scripts"
    assert mounts["./conf"] == "/home/hummingbot/conf"
    models = [v for v in compose["services"]["hummingbot"]["volumes"]
              if str(v).startswith("./models:")]
    assert models == ["./models:/home/hummingbot/models:ro"]
    training_models = [v for v in compose["services"]["training"]["volumes"]
                       if str(v).startswith("./models:")]
    assert training_models == ["./models:/home/hummingbot/models"]  # training writes


def test_secrets_come_from_the_git_ignored_env_file(compose: dict) -> None:
    for name, service in compose["services"].items():
        files = [e["path"] if isinstance(e, dict) else e for e in service.get("env_file", [])]
        assert files == ["docker/.env"], name
        assert "environment" not in service, f"{name}: put values in docker/.env"


def test_dockerfile_base_image_is_pinned() -> None:
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.M)
    assert froms, "no FROM line"
    args = _dockerfile_args()
    for image in froms:
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        name, _, tag = resolved.rpartition(":")
        assert name == "hummingbot/hummingbot", resolved
        assert tag and tag != "latest", f"base image not pinned: {resolved}"
        assert re.fullmatch(r"version-\d+\.\d+\.\d+", tag), resolved


def test_image_command_runs_the_hummingbot_client() -> None:
    cmd = re.findall(r"^CMD\s+(.+)$", DOCKERFILE.read_text(), flags=re.M)
    assert len(cmd) == 1 and "hummingbot_quickstart.py" in cmd[0]


def test_each_script_config_names_an_existing_script() -> None:
    configs = sorted((REPO / "conf" / "scripts").glob("conf_ml_*.yml"))
    assert configs, "no conf/scripts/conf_ml_*.yml"
    for path in configs:
        data = yaml.safe_load(path.read_text())
        script = data.get("script_file_name")
        assert script, f"{path.name}: no script_file_name"
        assert (REPO / "hummingbot_scripts" / script).is_file(), \
            f"{path.name} names {script}, missing in hummingbot_scripts/"
        assert path.name == f"conf_{Path(script).stem}.yml", \
            f"{path.name}: `start --v2 {path.name}` would run {script}"


def test_dockerfile_installs_the_runtime_dependencies() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    text = DOCKERFILE.read_text()
    for dep in deps:
        name = re.split(r"[<>=!~\[ ]", dep, maxsplit=1)[0]
        if name in {"hummingbot", "pytest"}:
            continue  # the image is Hummingbot; tests do not run in it
        assert f'"{dep}"' in text, f"Dockerfile does not install {dep}"
    assert "--no-deps" in text  # never let pip rebuild Hummingbot from the sdist


def test_env_example_has_keys_but_no_values() -> None:
    lines = [ln.strip() for ln in ENV_EXAMPLE.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines
    for line in lines:
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
        assert value == "", f"{key} has a value in the committed example"
    assert {"SLACK_BOT_TOKEN", "SUPABASE_SERVICE_KEY"} <= {ln.split("=")[0] for ln in lines}


def test_env_file_is_git_ignored() -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    result = subprocess.run(  # noqa: S603 - fixed arguments, git from PATH
        [git, "check-ignore", "-q", "docker/.env"], cwd=REPO, check=False)
    assert result.returncode == 0, "docker/.env is not git-ignored"
