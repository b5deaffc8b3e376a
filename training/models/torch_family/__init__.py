"""The torch model family: a compact 1D-CNN over the last ``n_bars`` normalised candles plus
the setup's feature row, trained on CPU, exported to ONNX and served by onnxruntime
(:class:`ml_signals.scoring.backends.OnnxSequenceBackend`).

- :mod:`training.models.torch_family.net`: the network, with input scaling inside the graph;
- :mod:`training.models.torch_family.fit`: deterministic fitting with early stopping, the family's
  ``fit_model_set``;
- :mod:`training.models.torch_family.export`: ONNX export (weights never pickled);
- :mod:`training.models.torch_family.windows`: the dataset's candle windows, from
  :func:`ml_signals.feature_parts.sequence.candle_windows` (the live scorer's function).

Only training imports torch (the optional extra ``.[torch]``).
"""
