"""Reads the imports of Python files without running them (for the dependency and boundary
tests)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def absolute_imports(path: Path) -> Iterator[tuple[str, int]]:
    """``(module, line)`` of every absolute import in ``path``, at any depth (module level, in a
    function, under ``TYPE_CHECKING``); ``from x import y`` yields ``x``, relative imports none.

    Raises:
        SyntaxError: ``path`` is not valid Python (named in the error).
    """
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
