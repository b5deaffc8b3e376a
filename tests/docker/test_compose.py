"""Static checks of the container files (no Docker engine needed).

- docker-compose.yml parses, mirrors Hummingbot's official mounts, and every bind-mounted host
  path exists in the repository (the conf/ folders are tracked, so a fresh clone has them, and
  Hummingbot's own login code lists conf/connectors/ without error);
- the Dockerfile's base image is a pinned release tag matching the installed Hummingbot;
- the image's command runs the Hummingbot client, and every ``conf/scripts/conf_ml_*.yml``
  names a script file that exists in ``hummingbot_scripts/`` (mounted as Hummingbot's scripts);
- the Dockerfile installs dependencies from pyproject.toml (no hand-copied list) under the
  image's versions as constraints; .dockerignore keeps the context to what it copies;
- pyproject.toml's requires-python admits the Pythons the image can carry;
- the start-up names docs/docker.md gives still exist in the installed client;
- docker/.env.example holds no secret values, and docker/.env is git-ignored.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
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
        assert tag and tag not in {"latest", "development"}, f"base image not pinned: {resolved}"
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


def test_dockerfile_installs_from_pyproject_under_the_images_versions() -> None:
    text = DOCKERFILE.read_text()
    instructions = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:  # no hand-copied dependency list
        name = re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0]
        assert not re.search(rf"[\s\"']{re.escape(name)}\s*[<>=!~]", instructions), \
            f"Dockerfile names {dep}: read it from pyproject.toml"
    assert "runtime_requirements.py requirements pyproject.toml" in text
    assert "runtime_requirements.py pins" in text and "-c /tmp/hummingbot-pins.txt" in text
    assert "--no-deps /opt/hb-ml-strategies" in text  # never let pip rebuild Hummingbot
    assert "runtime_requirements.py verify /tmp/hummingbot-pins.txt" in text


def _dockerignore() -> list[str]:
    return [ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


def test_dockerignore_keeps_only_what_the_image_copies() -> None:
    patterns = _dockerignore()
    assert patterns[0] == "*", "exclude everything, then list what COPY needs"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copies = re.findall(r"^COPY\s+(?!--from)(.+?)\s+\S+$", DOCKERFILE.read_text(), flags=re.M)
    sources = {src.rstrip("*").rstrip("/") for line in copies for src in line.split()}
    assert sources, "no COPY lines"
    for source in sources:
        assert source in included, f"COPY {source}: excluded by .dockerignore"
        assert (REPO / source).exists(), f"COPY {source}: missing in the repository"
    assert not included & {".venv", ".git", "data", "models", "reports", "runtime", "tests"}


def test_python_range_admits_the_images_python() -> None:
    """The image's conda Python is 3.12 or 3.13 (docs/docker.md, "The image's Python")."""
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    spec = SpecifierSet(project["project"]["requires-python"])
    assert "3.12.1" in spec and "3.13.0" in spec and "3.11.9" not in spec
    assert project["tool"]["ruff"]["target-version"] == "py312"


def test_official_conf_folders_are_tracked(compose: dict) -> None:
    """Hummingbot's docker-compose.yml mounts conf/{connectors,strategies,controllers,scripts};
    they exist in a fresh clone, so the ./conf mount does not hide the image's folders."""
    mounts = dict(_bind_mounts(compose["services"]["hummingbot"]))
    for folder in ("connectors", "strategies", "controllers", "scripts"):
        assert mounts[f"./conf/{folder}"] == f"/home/hummingbot/conf/{folder}"
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    tracked = subprocess.run(  # noqa: S603 - fixed arguments, git from PATH
        [git, "ls-files", "conf"], cwd=REPO, capture_output=True, text=True,
        check=True).stdout.split()
    for folder in ("connectors", "strategies", "controllers"):
        assert f"conf/{folder}/.gitkeep" in tracked
    assert compose["services"]["hummingbot"].get("init") is True  # reaps `docker exec hbot`


def test_hummingbot_login_lists_the_shipped_connectors_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hummingbot's ``list_connector_configs`` (every login) on the repository's
    conf/connectors/: no error, no config; on a conf/ without it: the error seen before."""
    from hummingbot.client.config import config_helpers

    monkeypatch.setattr(config_helpers, "CONNECTORS_CONF_DIR_PATH", REPO / "conf" / "connectors")
    assert config_helpers.list_connector_configs() == []
    monkeypatch.setattr(config_helpers, "CONNECTORS_CONF_DIR_PATH", tmp_path / "connectors")
    with pytest.raises(FileNotFoundError):
        config_helpers.list_connector_configs()


def test_base_tag_matches_the_installed_hummingbot() -> None:
    """``dev-X.Y.0`` (a development build after release X.(Y-1).0) -> ``version-X.(Y-1).0``; a
    release build ``X.Y.Z`` -> ``version-X.Y.Z`` (docs/docker.md, "How the base image was
    chosen")."""
    import hummingbot

    version = (Path(hummingbot.__file__).parent / "VERSION").read_text().strip()
    dev = re.fullmatch(r"dev-(\d+)\.(\d+)\.0", version)
    expected = (f"version-{dev.group(1)}.{int(dev.group(2)) - 1}.0" if dev
                else f"version-{version}")
    assert _dockerfile_args()["HUMMINGBOT_TAG"] == expected, version


def test_start_up_names_exist_in_the_installed_client() -> None:
    """What docs/docker.md tells users to set or run is what the installed client reads."""
    from hummingbot.cli import password
    from hummingbot.cli.commands import start

    docs = (REPO / "docs" / "docker.md").read_text()
    quickstart = Path(sys.executable).with_name("hummingbot_quickstart.py")
    if not quickstart.is_file():
        pytest.skip("bin/hummingbot_quickstart.py not installed next to this interpreter")
    quickstart_text = quickstart.read_text()
    for name in ("SCRIPT_CONFIG", "CONFIG_PASSWORD", "HEADLESS_MODE"):
        assert f'os.environ.get("{name}"' in quickstart_text and name in docs
    password_text = Path(password.__file__).read_text()
    assert '"HBOT_PASSWORD"' in password_text and '"CONFIG_PASSWORD"' in password_text
    assert "store_password_verification" in password_text  # hbot's first run creates it
    start_text = Path(start.__file__).read_text()
    assert '"--foreground"' in start_text and '"hbot", "start", "conf_ml_swing.yml", ' \
        '"--foreground"' in COMPOSE.read_text()
    assert "hbot start" in docs and "--foreground" in docs


def test_env_example_has_keys_but_no_values() -> None:
    lines = [ln.strip() for ln in ENV_EXAMPLE.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines
    for line in lines:
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
        assert value == "", f"{key} has a value in the committed example"
    assert {"SLACK_BOT_TOKEN", "SUPABASE_SERVICE_KEY", "CONFIG_PASSWORD", "SCRIPT_CONFIG"} <= {
        ln.split("=")[0] for ln in lines}


def test_env_file_is_git_ignored() -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    result = subprocess.run(  # noqa: S603 - fixed arguments, git from PATH
        [git, "check-ignore", "-q", "docker/.env"], cwd=REPO, check=False)
    assert result.returncode == 0, "docker/.env is not git-ignored"
