"""Field checks shared by the journal's record classes.

Each check raises ``ValueError`` naming the table, the record's natural id, the field and the
value, so a bad record is refused at construction with a one-line reason.
"""

from __future__ import annotations

import math
from typing import Any


def check_finite(table: str, ident: str, **values: float | None) -> None:
    """Every given value is ``None`` or finite.

    Raises:
        ValueError: ``"<table> <ident>: <name> must be finite, got <value>"``.
    """
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{table} {ident}: {name} must be finite, got {value!r}")


def check_positive(table: str, ident: str, **values: float | None) -> None:
    """Every given value is ``None`` or finite and > 0.

    Raises:
        ValueError: naming table, id, field and value.
    """
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{table} {ident}: {name} must be > 0, got {value!r}")


def check_non_negative(table: str, ident: str, **values: float | None) -> None:
    """Every given value is ``None`` or finite and >= 0.

    Raises:
        ValueError: naming table, id, field and value.
    """
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{table} {ident}: {name} must be >= 0, got {value!r}")


def opt_float(value: Any) -> float | None:
    """``None`` stays ``None``; anything else becomes ``float``."""
    return None if value is None else float(value)
