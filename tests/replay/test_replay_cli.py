"""``python -m training.replay --rules-only-out``: each script replayed twice on one window.

Real week of BTC/ETH/SOL 1h candles in which the channel script's detector fires (the window of
``test_replay_fast``). The first variant points at an empty models folder and keeps
the YAML's ``no_model_policy: skip``, so it takes nothing; the rules-only variant must take the
setups the same detector saw, with its own journal and JSON, and the last table must set the two
side by side with the difference of their net PnL.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

from training.replay.__main__ import main
from training.replay.report import format_side_by_side


@pytest.fixture(scope="module")
def ran(tmp_path_factory, repo_root):
    tmp = tmp_path_factory.mktemp("cli")
    out, rules = tmp / "ml", tmp / "rules-only"
    (tmp / "empty-models").mkdir()  # with no_model_policy skip the folder must exist
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main(["--script", "ml_channel", "--start", "2026-02-09", "--end", "2026-02-16",
                     "--data", str(repo_root / "data" / "sample" / "binance"),
                     "--models-dir", str(tmp / "empty-models"), "--out", str(out),
                     "--rules-only-out", str(rules), "--log-level", "ERROR"])
    return code, out, rules, printed.getvalue()


def test_both_variants_written_and_differ_only_in_the_models(ran):
    code, out, rules, _ = ran
    assert code == 0
    ml = json.loads((out / "ml_channel.json").read_text())
    plain = json.loads((rules / "ml_channel.json").read_text())
    assert ml["window"] == plain["window"] and ml["setups_seen"] == plain["setups_seen"] > 0
    assert ml["setups_taken"] == 0 and ml["skipped_by_guard"] == {"no_model": ml["setups_seen"]}
    assert plain["setups_taken"] > 0 and plain["executors_opened"] > 0
    assert plain["overrides"]["no_model_policy"] == "rules_only"
    assert plain["overrides"]["models_dir"] == str(rules / "no-models")
    assert not (rules / "no-models").exists()
    assert (rules / "ml_channel" / "journal.sqlite").is_file()
    assert plain["journal"]["trades"] == plain["executors_opened"]


def test_side_by_side_table(ran):
    _, out, rules, printed = ran
    ml = json.loads((out / "ml_channel.json").read_text())
    plain = json.loads((rules / "ml_channel.json").read_text())
    table = format_side_by_side([ml], [plain])
    assert printed.rstrip().endswith(table)  # the CLI's last lines
    row = next(line for line in table.splitlines() if line.startswith("ml_channel"))
    cells = row.split()
    assert cells[1] == str(ml["setups_seen"])
    assert float(cells[-1]) == pytest.approx(ml["net_pnl_quote"] - plain["net_pnl_quote"],
                                             abs=0.01)
    with pytest.raises(ValueError, match="same scripts"):
        format_side_by_side([ml], [{**plain, "script": "ml_swing"}])
