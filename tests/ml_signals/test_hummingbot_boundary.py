"""The package boundary the README states: in ``ml_signals`` only ``ml_signals/hummingbot/``
imports Hummingbot, so features, setups, scoring, risk, alerts, control and the journal import
and run without the compiled Hummingbot build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from import_scan import absolute_imports

REPO = Path(__file__).resolve().parents[2]
ADAPTER = REPO / "ml_signals" / "hummingbot"


def hummingbot_imports(path: Path) -> list[int]:
    """Line numbers of ``path``'s imports of ``hummingbot`` (at any depth: module level, in a
    function, under ``TYPE_CHECKING``)."""
    return [line for module, line in absolute_imports(path)
            if module.partition(".")[0] == "hummingbot"]


def test_only_the_adapter_imports_hummingbot() -> None:
    files = sorted((REPO / "ml_signals").rglob("*.py"))
    outside = {str(p.relative_to(REPO)): hummingbot_imports(p) for p in files
               if ADAPTER not in p.parents}
    assert {path: lines for path, lines in outside.items() if lines} == {}
    # the scan does see Hummingbot imports where they are
    assert hummingbot_imports(ADAPTER / "slack_notifier.py")
    assert len(outside) > 50


def test_the_scan_finds_a_nested_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\n\ndef f():\n    from hummingbot.core import clock\n"
                      "from ml_signals.hummingbot import script_base\n")
    assert hummingbot_imports(source) == [4]


def test_alerts_import_without_loading_hummingbot() -> None:
    """Importing the alerts, control and journal packages in a fresh interpreter loads no
    ``hummingbot`` module."""
    code = ("import sys, ml_signals.alerts, ml_signals.control, ml_signals.journal, "
            "ml_signals.decision.engine, ml_signals.decision.events, ml_signals.decision.planner, "
            "ml_signals.risk\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'hummingbot'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: S603
                         check=True, cwd=REPO).stdout
    assert out.strip() == "[]"
