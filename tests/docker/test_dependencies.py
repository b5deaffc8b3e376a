"""The image installs this package from pyproject.toml without moving Hummingbot's versions.

``docker/runtime_requirements.py`` turns pyproject.toml into the image's pip requirements; here
the same requirements are resolved by uv (``uv pip compile``, from its cache when it can) with
the versions of Hummingbot's dependency tree installed in this environment - the Hummingbot
the tests run - as ``==`` constraints, and every one of those versions must come out unchanged.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
SCRIPT = REPO / "docker" / "runtime_requirements.py"

_spec = importlib.util.spec_from_file_location("runtime_requirements", SCRIPT)
assert _spec is not None and _spec.loader is not None
rr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rr)


def hummingbot_pins() -> dict[str, str]:
    """``{name: installed version}`` of every distribution Hummingbot depends on, directly or
    not (markers evaluated for this interpreter, no extras)."""
    pins: dict[str, str] = {}
    stack = ["hummingbot"]
    while stack:
        name = canonicalize_name(stack.pop())
        if name in pins:
            continue
        dist = metadata.distribution(name)
        pins[name] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                stack.append(req.name)
    del pins["hummingbot"]
    return pins


def resolve(requirements: list[str], pins: dict[str, str], tmp_path: Path,
            python: str = "3.12", *extra: str) -> dict[str, str]:
    """``uv pip compile`` of ``requirements`` under ``pins`` for ``python`` -> ``{name:
    version}``; uv's cache first, the index when the cache lacks something.

    Raises:
        AssertionError: uv finds no resolution (its message included).
    """
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv not installed (make venv installs it)")
    req_file, pin_file = tmp_path / "requirements.txt", tmp_path / "pins.txt"
    req_file.write_text("\n".join(requirements) + "\n")
    pin_file.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    base = [uv, "pip", "compile", str(req_file), "-c", str(pin_file), "--python-version",
            python, "--no-header", "--quiet", *extra]
    result = subprocess.run([*base, "--offline"], capture_output=True, text=True,  # noqa: S603
                            timeout=300, check=False)
    if result.returncode != 0:  # not all in uv's cache: ask the index
        result = subprocess.run(base, capture_output=True, text=True,  # noqa: S603
                                timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return {canonicalize_name(m.group(1)): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", result.stdout, re.M)}


def test_requirements_come_from_pyproject() -> None:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    got = rr.runtime_requirements(PYPROJECT)
    assert got == [d for d in deps if rr.requirement_name(d) != "hummingbot"]
    assert len(got) == len(deps) - 1
    out = subprocess.run([sys.executable, str(SCRIPT), "requirements", str(PYPROJECT)],  # noqa: S603
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == got


def test_resolving_with_hummingbots_pins_keeps_them(tmp_path: Path) -> None:
    pins = hummingbot_pins()
    assert len(pins) > 50 and "pandas" in pins and "pydantic" in pins
    requirements = rr.runtime_requirements(PYPROJECT)
    resolved = resolve(requirements, pins, tmp_path)
    for req in requirements:
        assert canonicalize_name(Requirement(req).name) in resolved, req
    shared = {name: version for name, version in pins.items() if name in resolved}
    assert {"numpy", "pandas", "pydantic", "pyyaml", "pandas-ta"} <= set(shared)
    moved = {name: (version, resolved[name]) for name, version in shared.items()
             if resolved[name] != version}
    assert not moved, f"this package would move Hummingbot's versions: {moved}"


@pytest.mark.parametrize("python", ["3.12", "3.13"])
def test_every_dependency_has_wheels_for_the_images_python(python: str, tmp_path: Path) -> None:
    """The image's conda Python is 3.12 or 3.13 (docs/docker.md): every requirement resolves to
    released wheels there, nothing is built from source."""
    requirements = rr.runtime_requirements(PYPROJECT)
    resolved = resolve(requirements, {}, tmp_path, python, "--only-binary", ":all:")
    assert {canonicalize_name(Requirement(r).name) for r in requirements} <= set(resolved)


def test_a_conflicting_requirement_fails_the_resolution(tmp_path: Path) -> None:
    """The check can fail: a requirement that excludes Hummingbot's numpy has no resolution."""
    pins = hummingbot_pins()
    requirements = [*rr.runtime_requirements(PYPROJECT), f"numpy!={pins['numpy']}"]
    with pytest.raises(AssertionError):
        resolve(requirements, pins, tmp_path)


def test_verify_reports_moved_pins(tmp_path: Path) -> None:
    installed = rr.installed_pins()
    assert installed["pandas"] == metadata.version("pandas")
    pins = tmp_path / "pins.txt"
    pins.write_text(f"pandas=={installed['pandas']}\nnumpy==0.0.1\n")
    assert rr.read_pins(pins) == {"pandas": installed["pandas"], "numpy": "0.0.1"}
    assert rr.moved_pins(rr.read_pins(pins), installed) == [
        f"numpy: 0.0.1 -> {installed['numpy']}"]
    result = subprocess.run([sys.executable, str(SCRIPT), "verify", str(pins)],  # noqa: S603
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "numpy: 0.0.1" in result.stderr
    pins.write_text(f"pandas=={installed['pandas']}\n")
    assert subprocess.run([sys.executable, str(SCRIPT), "verify", str(pins)],  # noqa: S603
                          check=False).returncode == 0


def test_image_serves_torch_models_without_torch():
    """The image's requirements carry onnxruntime (the torch family's scorer) and no torch or
    onnx: those stay in the ``.[torch]`` extra that only training installs."""
    names = {rr.requirement_name(r) for r in rr.runtime_requirements(PYPROJECT)}
    assert "onnxruntime" in names
    assert not names & {"torch", "onnx"}
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["torch"]
    assert {rr.requirement_name(r) for r in extra} == {"torch", "onnx"}
