"""Building blocks of :func:`ml_signals.features.compute_features`.

Import the public API from :mod:`ml_signals.features`; these modules are split out only to keep
each one short. Their source is part of :func:`ml_signals.features.feature_code_hash`.
"""
