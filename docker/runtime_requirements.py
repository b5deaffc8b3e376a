"""The image's pip inputs, read from pyproject.toml: this package's requirements, and the
versions already installed in the Hummingbot image as constraints.

docker/Dockerfile runs, in the image's conda environment::

    python runtime_requirements.py requirements pyproject.toml > requirements.txt
    python runtime_requirements.py pins > hummingbot-pins.txt
    pip install -r requirements.txt -c hummingbot-pins.txt
    pip install --no-deps /opt/hb-ml-strategies
    python runtime_requirements.py verify hummingbot-pins.txt

so the dependency list lives only in pyproject.toml, pip adds what Hummingbot lacks (xgboost,
slack-sdk, supabase, ...) at versions that fit, and fails the build rather than upgrade or
downgrade any package the image already holds. tests/docker/test_dependencies.py resolves the
same requirements against the Hummingbot the tests run. Standard library only (the image's
environment may lack ``packaging``).
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Final

EXCLUDED: Final[dict[str, str]] = {
    "hummingbot": "the image's /home/hummingbot checkout is Hummingbot, compiled in place; "
                  "pip would build the sdist again",
}
"""pyproject dependencies the image does not install, with the reason."""

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PUBLIC_VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


def normalize(name: str) -> str:
    """PEP 503 name: ``Pandas_TA`` -> ``pandas-ta``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """Normalized distribution name of a PEP 508 requirement string.

    Raises:
        ValueError: the string does not start with a distribution name.
    """
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"pyproject.toml: requirement {requirement!r} has no name")
    return normalize(match.group(1))


def runtime_requirements(pyproject: Path) -> list[str]:
    """``[project].dependencies`` of ``pyproject`` without :data:`EXCLUDED`, as written there.

    Raises:
        KeyError: the file has no ``[project].dependencies``.
    """
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [dep for dep in dependencies if requirement_name(dep) not in EXCLUDED]


def installed_pins() -> dict[str, str]:
    """``{normalized name: version}`` of every distribution the running interpreter sees whose
    version pip accepts in a constraint (public PEP 440 versions; local builds are left out)."""
    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = dist.metadata["Name"], dist.version
        if name and version and _PUBLIC_VERSION.match(version):
            pins[normalize(name)] = version
    return pins


def read_pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file -> ``{normalized name: version}``."""
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[normalize(name)] = version
    return pins


def moved_pins(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """``"name: old -> new"`` for every pinned distribution whose version changed or vanished."""
    return [f"{name}: {version} -> {after.get(name, 'removed')}"
            for name, version in sorted(before.items()) if after.get(name) != version]


def main(argv: list[str]) -> int:
    """``requirements PYPROJECT`` | ``pins`` | ``verify PINS_FILE``; prints to stdout.

    Returns:
        0, or 1 when ``verify`` finds a pinned version moved (listed on stderr).
    """
    command = argv[0] if argv else ""
    if command == "requirements" and len(argv) == 2:
        print("\n".join(runtime_requirements(Path(argv[1]))))
        return 0
    if command == "pins" and len(argv) == 1:
        print("\n".join(f"{name}=={version}" for name, version in sorted(installed_pins().items())))
        return 0
    if command == "verify" and len(argv) == 2:
        moved = moved_pins(read_pins(Path(argv[1])), installed_pins())
        for line in moved:
            print(f"pinned by the Hummingbot image, changed: {line}", file=sys.stderr)
        return 1 if moved else 0
    print("usage: runtime_requirements.py requirements PYPROJECT | pins | verify PINS_FILE",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
