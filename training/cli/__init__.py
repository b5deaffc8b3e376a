"""The training command line, ``python -m training <command>``: the parser and the entry point
(:mod:`training.cli.main`), shared arguments and candle loading (:mod:`training.cli.args`),
``train`` / ``retrain`` (:mod:`training.cli.train_commands`) and the commands that judge
(:mod:`training.cli.judge_commands`: ``evaluate``, ``compare``, ``journal-compare``,
``shadow-report``).
"""
