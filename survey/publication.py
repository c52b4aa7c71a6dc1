"""The one gate every count passes through before a person sees it.

Pages, downloads, notes and diagnostics never show a true count. They show a `Count` made
here: counts are perturbed by the cell-key method (`analysis.perturbation`) with the
configured perturbation table, the platform's keyed table by default (noise of at most 4
either way, variance 3), and hidden ("fewer than 10") when the true count or the
perturbed one is under the threshold. A cell's key comes from its respondents' record
keys, so the same respondents always publish as the same count wherever they appear;
subtracting one published figure from another gives noise, not people; and adding
responses to a cell draws its noise afresh, so watching a count while planting responses
learns no exact number.

The rules that decide which groups of a table may be shown at all (small groups, the
groups that protect them, filtered tables whose complement is small, a small rest of
London) are `analysis.disclosure`'s; reports apply them through `analysis.summarise`, and
tables of counts (coverage) through `Gate.table`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.disclosure import (
    complementary_suppression,
    primary_suppression,
    published_suppression,
    withheld_for_complements,
)
from analysis.perturbation import KEYED, PerturbationTable, load_ptable

# GSS shorthand first ([c]: confidential), then the reason in words.
FEWER_THAN = "[c] fewer than {threshold}"
NOT_SHOWN = "[c] not shown"


@dataclass(frozen=True)
class Count:
    """A count as published: a perturbed number, or hidden (and why)."""

    value: int | None
    threshold: int
    small: bool = True  # when hidden: small itself, or hidden to protect another

    @property
    def shown(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        if self.value is not None:
            return f"{self.value:,}"
        return FEWER_THAN.format(threshold=self.threshold) if self.small else NOT_SHOWN

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def as_json(self) -> int | str:
        """A number when shown, otherwise the words: what downloads carry."""
        return self.value if self.value is not None else str(self)


@dataclass(frozen=True)
class Gate:
    """Publishes counts with a threshold and a perturbation table."""

    threshold: int
    ptable: PerturbationTable

    def count(self, true: int, key_sum: int) -> Count:
        """The published form of `true` respondents whose record keys add up to `key_sum`."""
        true = int(true)
        if true < self.threshold:
            return Count(None, self.threshold)
        value = int(self.ptable.perturb(true, int(key_sum)))
        return Count(value if value >= self.threshold else None, self.threshold)

    @property
    def needs_complements(self) -> bool:
        """Whether the rules check a table against the same groups outside its period or
        versions: only with a table whose noise is the same for every key (ONS's 10-5),
        where subtracting one published count from another gives people, not noise.
        Callers skip counting the complements otherwise."""
        return not self.ptable.draws_by_key

    def small(self, n, x, n_keys, x_keys) -> np.ndarray:
        """Which groups may not show their figures for their own sake, from their true
        respondents `n` and positive answers `x` and the record-key sums of each. With a
        table that draws its noise by the cell key the rules read the published counts
        (`analysis.disclosure.published_suppression`); otherwise the true ones."""
        n = np.asarray(n, dtype=int)
        if self.ptable.draws_by_key:
            shown_n = self.ptable.perturb(n, np.asarray(n_keys, dtype=int))
            shown_x = self.ptable.perturb(np.asarray(x, dtype=int), np.asarray(x_keys, dtype=int))
            return published_suppression(n, shown_n, shown_x, min_cell=self.threshold)
        return primary_suppression(n, np.asarray(x, dtype=float), min_cell=self.threshold)

    def protecting(self, hidden, sizes) -> np.ndarray:
        """Which more cells of one breakdown (its parts, then its total, last) must be
        hidden so that `hidden` ones cannot be worked out by subtraction. None with a table
        that draws its noise by the cell key: the total less the parts shown is a range, not
        a number (the intruder tests attack it)."""
        hidden = np.asarray(hidden, dtype=bool)
        if self.ptable.draws_by_key:
            return np.zeros(len(hidden), dtype=bool)
        return complementary_suppression(
            hidden,
            np.asarray(sizes, dtype=float),
            [list(range(len(hidden)))],
            min_cell=self.threshold,
        )

    def table(
        self,
        labels: Sequence[str],
        trues: Sequence[int],
        key_sums: Sequence[int],
        *,
        hide_first: Sequence[str] = (),
        complements: Sequence[Mapping[tuple, float]] = (),
    ) -> tuple[list[Count], Count]:
        """Publish the parts of one breakdown and their total (keys summed over the parts).

        Parts under the threshold are hidden. With a table that does not draw its noise by
        the cell key (ONS's 10-5 table), so are parts whose same group outside a filter is
        small, and then more parts, `hide_first` labels first, until the hidden ones can
        neither be worked out one by one nor add up to a small number."""
        n = np.array([*trues, sum(trues)], dtype=float)
        small = np.append((n[:-1] >= 1) & (n[:-1] < self.threshold), False)
        if not self.needs_complements:
            # Noise drawn by the cell key: the total less the parts shown is a range, not
            # a number, so nothing more need be hidden (the intruder tests attack it).
            outside = extra = np.zeros(len(n), dtype=bool)
        else:
            outside = withheld_for_complements(
                [(label,) for label in [*labels, "All"]], complements, min_cell=self.threshold
            )
            priority = np.array([0 if label in hide_first else 1 for label in labels] + [1])
            extra = complementary_suppression(
                small | outside,
                n,
                [list(range(len(n)))],
                min_cell=self.threshold,
                priority=priority,
            )
        parts = []
        for index, (true, key) in enumerate(zip(trues, key_sums, strict=True)):
            if small[index] or (outside[index] and true < self.threshold):
                parts.append(Count(None, self.threshold))
            elif outside[index] or extra[index]:
                parts.append(Count(None, self.threshold, small=False))
            else:
                parts.append(self.count(true, key))
        total = (
            Count(None, self.threshold, small=False)
            if outside[-1] or extra[-1]
            else self.count(int(n[-1]), sum(key_sums))
        )
        return parts, total


def gate_for(config: Mapping[str, Any]) -> Gate:
    """The gate the app's settings describe (threshold and perturbation table)."""
    return Gate(
        threshold=config["SUPPRESSION_THRESHOLD"],
        ptable=load_ptable(config.get("PERTURBATION_TABLE") or KEYED),
    )


def public_gate_for(config: Mapping[str, Any]) -> Gate:
    """The gate for public releases: the same perturbation table (the same people always
    publish as the same number), and the public threshold where it is stricter."""
    return Gate(
        threshold=config.get("PUBLIC_SUPPRESSION_THRESHOLD") or config["SUPPRESSION_THRESHOLD"],
        ptable=load_ptable(config.get("PERTURBATION_TABLE") or KEYED),
    )
