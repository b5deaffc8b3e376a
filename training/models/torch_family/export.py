"""ONNX export of a fitted :class:`~training.models.torch_family.net.SequenceNet`.

The graph (opset :data:`OPSET`) has inputs ``features`` float32 (n, n_features) and ``window``
float32 (n, n_bars, channels) with a dynamic batch axis, and one output ``output`` (n,); input
scaling is inside it. Written by torch's TorchScript-based exporter (``dynamo=False``: it needs
no onnxscript and traces this fixed-shape, branch-free network exactly), checked with
``onnx.checker``. Weights are stored as ONNX initialisers: nothing is pickled.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Final

import onnx
import torch

from ml_signals.feature_parts.sequence import SEQUENCE_CHANNELS
from training.models.torch_family.net import SequenceNet

OPSET: Final = 17
"""onnxruntime >= 1.14 runs opset 17."""


def export_onnx(net: SequenceNet, n_features: int, n_bars: int, path: Path) -> None:
    """Write ``net`` (eval mode) as an ONNX file at ``path``.

    Raises:
        onnx.checker.ValidationError: the written graph is not valid ONNX.
    """
    net.eval()
    example = (torch.zeros(2, n_features), torch.zeros(2, n_bars, len(SEQUENCE_CHANNELS)))
    with warnings.catch_warnings():  # the TorchScript exporter announces its deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            net, example, str(path), dynamo=False, opset_version=OPSET,
            input_names=["features", "window"], output_names=["output"],
            dynamic_axes={"features": {0: "n"}, "window": {0: "n"}, "output": {0: "n"}})
    onnx.checker.check_model(str(path))
