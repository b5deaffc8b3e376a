"""Stage 6 of training: artifacts. Takes a trained strategy (:mod:`training.models`), its
evidence and choices (:mod:`training.evaluation`) and the data it saw; gives a versioned,
hashed artifact folder ``models/<strategy>/<version>/`` and, when the gate passes, the
``current`` pointer the scorer loads.

- :mod:`training.artifacts.writer`: model files, calibration, rule and manifest;
- :mod:`training.artifacts.provenance`: hashes of the candles, labels and fee settings;
- :mod:`training.artifacts.retrain`: keep the newest versions and the current one.
"""
