"""Categorical columns as integer codes plus their labels.

Large inputs (a million responses from a database) arrive as codes already; anything else
is encoded once here, so the statistics work on integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MISSING = -1  # the code for an empty or missing value


@dataclass(frozen=True)
class Coded:
    """A categorical column: ``codes[i]`` indexes ``labels``; -1 means missing."""

    codes: np.ndarray
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
            raise ValueError("codes must be a one-dimensional integer array")
        if codes.size and (codes.max(initial=-1) >= len(self.labels) or codes.min() < -1):
            raise ValueError("codes must index labels, or be -1 for missing")
        object.__setattr__(self, "codes", codes.astype(np.intp, copy=False))
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))

    def __len__(self) -> int:
        return int(self.codes.size)

    def recode(self, labels: Sequence[str]) -> np.ndarray:
        """Return codes against another label order; labels not in it become -1."""
        if tuple(labels) == self.labels:
            return self.codes  # already in that order: no pass over the codes
        position = {label: index for index, label in enumerate(labels)}
        mapping = np.array(
            [position.get(label, MISSING) for label in self.labels] + [MISSING], dtype=np.intp
        )
        return mapping[self.codes]  # code -1 picks the trailing MISSING


def encode(values) -> Coded:
    """Encode labels (strings, numbers, None) as codes; None, NaN and "" are missing."""
    if isinstance(values, Coded):
        return values
    array = np.asarray(values, dtype=object)
    missing = np.array([_is_missing(v) for v in array], dtype=bool)
    present = array[~missing].astype(str)
    labels, inverse = np.unique(present, return_inverse=True)
    codes = np.full(array.shape[0], MISSING, dtype=np.intp)
    codes[~missing] = inverse
    return Coded(codes, tuple(labels.tolist()))


def combine(columns: Sequence[Coded], separator: str = "*") -> Coded:
    """Cross two or more columns into one (for margins such as age band by sex)."""
    codes = np.zeros(len(columns[0]), dtype=np.intp)
    missing = np.zeros(len(columns[0]), dtype=bool)
    labels: list[str] = [""]
    for column in columns:
        codes = codes * len(column.labels) + np.maximum(column.codes, 0)
        missing |= column.codes < 0
        labels = [f"{a}{separator}{b}" if a else b for a in labels for b in column.labels]
    codes[missing] = MISSING
    return Coded(codes, tuple(labels))


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""
