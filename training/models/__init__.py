"""Stage 3 of training: models. Takes a strategy's labelled setups
(:class:`~training.labels.dataset.SetupDataset`); gives a fitted model set with its out-of-fold
scores, calibration and ex-ante decision rule (:class:`~training.models.train.TrainResult`).

- :mod:`training.models.walkforward`: the purged, embargoed folds and the quarantine;
- :mod:`training.models.train`: walk-forward training of one strategy, scoring each fold as the
  published model will score new candles; :mod:`training.models.fold_task`: one fold's fit as
  a task (in-process or on Dask, :mod:`training.parallel`);
- :mod:`training.models.boosters`: the XGBoost classifier and regressors;
  :mod:`training.models.torch_family`: the torch sequence family, exported to ONNX;
- :mod:`training.models.compare`: training candidates on the same folds, incl.
  :mod:`training.models.pooled` (one model over the three strategies).

What a model set earns and whether it is published is judged in :mod:`training.evaluation`.
"""
