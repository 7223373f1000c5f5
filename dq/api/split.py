"""What a splitter returns: each side's row positions, in output order, and group counts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _positions(value: Any) -> Any:
    """Row positions as a 1-D int64 numpy array (8 bytes a row; a list of ints costs ~36)."""
    import numpy as np

    out = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.int64)
    if out.ndim != 1:
        raise ValueError(f"row positions must be one-dimensional, not of shape {out.shape}")
    return out


class SplitResult(BaseModel):
    """Row positions per split, in output order, and group counts.

    ``train`` and ``val`` accept any sequence of ints (a list, an ``array.array``, a numpy array,
    a Polars Series) and hold it as a 1-D int64 numpy array: a streamed run splits millions of rows.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    train: Annotated[Any, BeforeValidator(_positions)]
    val: Annotated[Any, BeforeValidator(_positions)]
    train_groups: int
    val_groups: int

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(value, getattr(other, name)) for name, value in self.__dict__.items())


def _same(a: Any, b: Any) -> bool:
    """Equality for fields that compare element-wise (numpy arrays, Polars Series)."""
    import numpy as np

    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if hasattr(a, "equals"):
        return bool(a.equals(b))
    return bool(a == b)
