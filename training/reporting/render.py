"""HTML templates of the training reports, read as package data and rendered with Jinja2.

Templates and style sheets live in ``training/reporting/templates/`` (shipped with the package:
pyproject's ``[tool.setuptools.package-data]``; read with :mod:`importlib.resources`, so an
installed package finds them too). Two conventions keep the pages exactly what the reports have
always been (one line of HTML) while the templates stay readable:

- whitespace: a line break and the next line's indentation are dropped where they touch markup
  or a template tag (after ``>`` or ``}``, before ``<`` or ``{``); inside prose they become one
  space;
- escaping: autoescape is off; every value that comes from data goes through the ``h`` filter
  (:func:`html.escape`, quotes included, as the reports always escaped), and values that are
  already HTML (captions with markup, rendered sub-sections) are printed as they are.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib.resources import files
from typing import Any, Final

import jinja2

PACKAGE: Final = "training.reporting"
FOLDER: Final = "templates"

_TIGHT: Final = re.compile(r"(?<=[>}])\n[ \t]*|\n[ \t]*(?=[<{])")
_LOOSE: Final = re.compile(r"\n[ \t]*")


def read_asset(name: str) -> str:
    """Text of ``templates/<name>`` (a style sheet, a template) from the installed package.

    Raises:
        FileNotFoundError: no such file in the package (package data not installed).
    """
    return files(PACKAGE).joinpath(FOLDER, name).read_text(encoding="utf-8")


def squeeze(source: str) -> str:
    """Template source with its layout whitespace removed (see the module docstring)."""
    return _LOOSE.sub(" ", _TIGHT.sub("", source)).strip()


def _load(name: str) -> tuple[str, None, Any]:
    return squeeze(read_asset(name)), None, lambda: True


def _sign_class(text: str) -> str:
    """CSS class of a formatted signed value: ``pos`` for ``+…``, ``neg`` for ``-…``."""
    if text.startswith("+"):
        return "pos"
    if text.startswith("-"):
        return "neg"
    return ""


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=False,  # noqa: S701 - every data value is escaped with the ``h`` filter
        undefined=jinja2.StrictUndefined)
    env.filters["h"] = lambda value: html.escape(str(value))
    env.filters["sign_class"] = _sign_class
    return env


def render(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` with ``context``.

    Raises:
        jinja2.TemplateError: a syntax error in the template or a name missing from
            ``context`` (undefined names are errors, never empty strings).
    """
    return _environment().get_template(name).render(**context)
