"""Every third-party package the code imports is declared in pyproject.toml, and the tools only
the tests and the lint gate need (pytest, ruff, mypy) are in the ``dev`` extra, not in the
runtime dependencies the Docker image installs."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from import_scan import absolute_imports
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ml_signals", "training", "hummingbot_scripts")
"""The folders pyproject.toml installs (``[tool.setuptools.packages.find]``)."""
DEV_TOOLS = ("pytest", "ruff", "mypy")


def imported_distributions(files: Iterable[Path]) -> dict[str, Path]:
    """``{distribution name: first file importing it}`` for the absolute imports of ``files``
    that are neither the standard library nor this project's own packages.

    Raises:
        AssertionError: an import that no installed distribution provides (named with its file).
    """
    providers = metadata.packages_distributions()
    found: dict[str, Path] = {}
    for path in files:
        for module, line in absolute_imports(path):
            top = module.partition(".")[0]
            if top in sys.stdlib_module_names or top in PACKAGES:
                continue
            assert top in providers, f"{path}:{line}: imports {top!r}, no distribution has it"
            for dist in providers[top]:
                found.setdefault(canonicalize_name(dist), path)
    return found


def declared(requirements: Iterable[str]) -> set[str]:
    """Normalized distribution names of PEP 508 requirement strings."""
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _sources() -> list[Path]:
    return sorted(p for name in PACKAGES for p in (REPO / name).rglob("*.py"))


TORCH_FAMILY = REPO / "training" / "models" / "torch_family"
"""The only code allowed to import the optional ``torch`` extra (training the torch family);
the scripts serve its models with onnxruntime, a runtime dependency."""


def test_every_imported_package_is_a_declared_dependency() -> None:
    project = _project()
    runtime = declared(project["dependencies"])
    sources = _sources()
    used = imported_distributions(p for p in sources if TORCH_FAMILY not in p.parents)
    undeclared = {dist: str(path.relative_to(REPO)) for dist, path in used.items()
                  if dist not in runtime}
    assert not undeclared, f"imported but not in [project].dependencies: {undeclared}"
    # the scan reaches the packages this rule was written for
    assert {"numba", "xgboost", "hummingbot", "pandas", "onnxruntime"} <= set(used)
    torch_extra = runtime | declared(project["optional-dependencies"]["torch"])
    family = imported_distributions(p for p in sources if TORCH_FAMILY in p.parents)
    undeclared = {dist: str(path.relative_to(REPO)) for dist, path in family.items()
                  if dist not in torch_extra}
    assert not undeclared, f"imported but not in the torch extra: {undeclared}"
    assert {"torch", "onnx"} <= set(family)


def test_dev_tools_are_in_the_dev_extra_only() -> None:
    project = _project()
    runtime = declared(project["dependencies"])
    dev = declared(project["optional-dependencies"]["dev"])
    assert set(DEV_TOOLS) <= dev
    assert not set(DEV_TOOLS) & runtime
    assert not set(DEV_TOOLS) & set(imported_distributions(_sources()))


def test_an_undeclared_import_is_reported(tmp_path: Path) -> None:
    """The scan can fail: a module importing numba against a list without numba is caught,
    stdlib, relative and project imports are not."""
    source = tmp_path / "module.py"
    source.write_text("import json\nfrom . import sibling\nfrom ml_signals.decision import sizing\n"
                      "from numba import njit\nimport numpy.typing as npt\n")
    used = imported_distributions([source])
    assert set(used) == {"numba", "numpy"}
    assert set(used) - declared(["numpy>=1.26"]) == {"numba"}
