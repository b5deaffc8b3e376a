"""The report templates: the layout rule of training/reporting/render.py, escaping, and the
templates and style sheets shipped as package data (a wheel built from this tree, installed
into a temporary folder, renders the pages in a fresh process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jinja2
import pytest

from training.reporting.render import read_asset, render, squeeze

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "training" / "reporting" / "templates"


def test_layout_whitespace_goes_and_prose_keeps_one_space() -> None:
    source = "<p>\n  {{ x }}\n  <b>one\n    two</b>\n</p>\n"
    assert squeeze(source) == "<p>{{ x }}<b>one two</b></p>"


def test_values_are_escaped_with_quotes_as_html_escape_does() -> None:
    html = render("training/figure.html", uri="data:x", alt='a "b" <c> & \'d\'', file="f.png",
                  caption="<b>kept</b>")
    assert html == ('<figure><img src="data:x" alt="a &quot;b&quot; &lt;c&gt; &amp; &#x27;d&#x27;"'
                    ' data-file="f.png"><figcaption><b>kept</b></figcaption></figure>')


def test_a_missing_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("training/figure.html", uri="data:x", alt="a", file="f.png")


def test_every_template_and_style_sheet_is_declared_package_data() -> None:
    shipped = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*")
                     if p.is_file())
    assert "training/page.html" in shipped and "training.css" in shipped
    for name in shipped:
        assert read_asset(name) == (TEMPLATES / name).read_text(encoding="utf-8")


def test_an_installed_wheel_finds_its_templates(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for pkg in ("ml_signals", "training", "hummingbot_scripts"):
        shutil.copytree(REPO / pkg, src / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    wheels = tmp_path / "wheels"
    built = subprocess.run(  # noqa: S603 - this interpreter's pip on a copy of the tree
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(wheels), str(src)],
        capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in TEMPLATES.rglob("*"):
        if p.is_file():
            assert f"training/reporting/templates/{p.relative_to(TEMPLATES).as_posix()}" in names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = ("import training.reporting.render as r; "
             f"assert r.__file__.startswith({str(target)!r}), r.__file__; "
             "print(r.render('training/page.html', css=r.read_asset('training.css'), body='B'))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path,  # noqa: S603
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">')
    assert "<main>B</main></body></html>" in done.stdout
    assert read_asset("training.css") in done.stdout
