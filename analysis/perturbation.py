"""Cell-key perturbation of published counts: the method ONS used for Census 2021 and the
Australian Bureau of Statistics uses in TableBuilder.

Each respondent carries a random record key in 0..255, fixed when their response is
stored. A cell's key is the sum of its respondents' keys, modulo 256. A perturbation table
(ptable) maps the cell's true count and its key to the noise added. The same set of
respondents therefore always gets the same published count, on whatever page or file it
appears, and subtracting one published table from another gives noise, not people.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

KEY_RANGE = 256  # record and cell keys run from 0 to 255
PTABLES = Path(__file__).parent / "ptables"
TEN_FIVE = PTABLES / "ptable_10_5_rule.csv.gz"
# The platform's table: noise of at most 4 either way, variance 3, drawn by the cell key.
MAX_NOISE = 4
VARIANCE = 3.0
KEYED = PTABLES / f"ptable_d{MAX_NOISE}_v{VARIANCE:g}.csv.gz"


@dataclass(frozen=True)
class PerturbationTable:
    """A ptable: the noise for each perturbation cell value (pcv) and cell key.

    Counts up to ``max_pcv`` are looked up directly; larger ones reuse the table's last
    250 rows, as ONS's implementation does: pcv = ((count - 1) mod 250) + max_pcv - 249.
    """

    name: str
    noise: np.ndarray = field(repr=False)  # (max_pcv + 1, KEY_RANGE); row 0 is zero

    @property
    def max_pcv(self) -> int:
        return self.noise.shape[0] - 1

    @property
    def draws_by_key(self) -> bool:
        """Whether every count's noise depends on the cell key (a row of the table holds
        more than one value). Then a published count stands for several true ones
        whichever the key, sums and differences of published counts give ranges, and one
        more respondent draws the noise afresh. ONS's 10-5 table rounds alike for every
        key: it does not, and the rules against subtraction stay needed with it."""
        rows = self.noise[1:]
        return bool(np.all(rows.min(axis=1) < rows.max(axis=1)))

    def pcv(self, counts) -> np.ndarray:
        """The row of the table each true count uses."""
        counts = np.asarray(counts, dtype=np.int64)
        wrapped = (counts - 1) % 250 + (self.max_pcv - 249)
        return np.where(counts <= self.max_pcv, counts, wrapped)

    def perturb(self, counts, cell_keys) -> np.ndarray:
        """The published counts: true count plus the table's noise for the cell key."""
        counts = np.asarray(counts, dtype=np.int64)
        keys = np.asarray(cell_keys, dtype=np.int64) % KEY_RANGE
        if np.any(counts < 0):
            raise ValueError("counts cannot be negative")
        return counts + self.noise[self.pcv(counts), keys]

    def true_counts_for(self, published: int, *, largest: int = 100_000) -> set[int]:
        """Every true count that some cell key publishes as `published`: what anyone who
        knows the (public) table can infer from a published count."""
        low = max(0, published - int(np.abs(self.noise).max()))
        high = min(largest, published + int(np.abs(self.noise).max()))
        counts = np.arange(low, high + 1)
        results = self.perturb(counts[:, None], np.arange(KEY_RANGE)[None, :])
        return {int(c) for c, row in zip(counts, results, strict=True) if published in row}


def noise_distribution(count: int, max_noise: int, variance: float) -> dict[int, float]:
    """The noise for a true `count`: the distribution of greatest entropy on
    -`max_noise`..`max_noise` (never below -count) with mean 0 and the given variance,
    the construction of Enderle, Giessing and Tent's R package `ptable`. Where a count is
    too close to 0 for the variance, the largest variance it allows is used.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in noise_distribution(10, 1, 0.5).items()}
    {-1: 0.25, 0: 0.5, 1: 0.25}
    """
    from scipy.optimize import minimize

    if count == 0:
        return {0: 1.0}
    noise = np.arange(max(-count, -max_noise), max_noise + 1)
    target = variance
    while target > 0:
        constraints = [
            {"type": "eq", "fun": lambda p: p.sum() - 1},
            {"type": "eq", "fun": lambda p: p @ noise},
            {"type": "eq", "fun": lambda p, v=target: p @ noise**2 - v},
        ]
        found = minimize(
            lambda p: float(np.sum(p * np.log(np.clip(p, 1e-15, 1)))),
            np.full(noise.size, 1 / noise.size),
            method="SLSQP",
            bounds=[(0, 1)] * noise.size,
            constraints=constraints,
            options={"ftol": 1e-12, "maxiter": 1000},
        )
        if found.success:
            p = np.clip(found.x, 0, None)
            return {int(e): float(q) for e, q in zip(noise, p / p.sum(), strict=True) if q > 0}
        target = round(target - 0.1, 10)
    raise ValueError(f"no noise distribution for a count of {count}")


def build_ptable(max_noise: int = MAX_NOISE, variance: float = VARIANCE) -> PerturbationTable:
    """A ptable whose noise depends on the cell key: each count's `noise_distribution`,
    its cumulative probabilities cut into the 256 cell keys, lowest noise first (ONS's
    layout). Counts from `max_noise` up share one distribution, so 500 rows hold the
    table and counts past them wrap onto rows 251 to 500, which all use it."""
    if max_noise < 1 or not 0 < variance <= max_noise**2:
        raise ValueError("max_noise must be 1 or more and variance between 0 and max_noise**2")
    rows = 500
    table = np.zeros((rows + 1, KEY_RANGE), dtype=np.int64)
    shared = None
    for count in range(1, rows + 1):
        if count >= max_noise and shared is not None:
            table[count] = shared
            continue
        distribution = noise_distribution(count, max_noise, variance)
        edges = np.rint(np.cumsum(list(distribution.values())) * KEY_RANGE).astype(int)
        starts = np.concatenate([[0], edges[:-1]])
        for value, start, end in zip(distribution, starts, edges, strict=True):
            table[count, start:end] = value
        if count >= max_noise:
            shared = table[count].copy()
    return PerturbationTable(f"ptable_d{max_noise}_v{variance:g}", table)


def write_ptable(table: PerturbationTable) -> bytes:
    """The table as ONS's CSV layout (pcv, ckey, pvalue), gzipped reproducibly."""
    lines = ['"pcv","ckey","pvalue"']
    for pcv in range(1, table.max_pcv + 1):
        lines += [f"{pcv},{key},{table.noise[pcv, key]}" for key in range(KEY_RANGE)]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def read_ptable(source: str | Path) -> PerturbationTable:
    """Read a ptable CSV (columns pcv, ckey, pvalue; gzip allowed), checking it is whole."""
    path = Path(source)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    if not rows or {"pcv", "ckey", "pvalue"} - set(rows[0]):
        raise ValueError(f"{path.name}: a ptable needs the columns pcv, ckey and pvalue")
    pcv = np.array([int(r["pcv"]) for r in rows])
    ckey = np.array([int(r["ckey"]) for r in rows])
    pvalue = np.array([int(r["pvalue"]) for r in rows])
    max_pcv = int(pcv.max())
    if pcv.min() < 1 or ckey.min() < 0 or ckey.max() >= KEY_RANGE or max_pcv < 250:
        raise ValueError(f"{path.name}: pcv must run from 1 to at least 250, ckey from 0 to 255")
    noise = np.zeros((max_pcv + 1, KEY_RANGE), dtype=np.int64)
    seen = np.zeros_like(noise, dtype=bool)
    noise[pcv, ckey] = pvalue
    seen[pcv, ckey] = True
    if not seen[1:].all():
        raise ValueError(f"{path.name}: every pcv from 1 to {max_pcv} needs all 256 cell keys")
    if np.any(pcv + pvalue < 0):
        raise ValueError(f"{path.name}: noise may not make a count negative")
    return PerturbationTable(path.name.removesuffix(".gz").removesuffix(".csv"), noise)


@lru_cache(maxsize=4)
def load_ptable(source: str | Path = KEYED) -> PerturbationTable:
    """The ptable at `source`, read once per process (the platform's keyed table by default)."""
    return read_ptable(source)


def cell_keys(record_key_sums) -> np.ndarray:
    """Cell keys from the sums of the cells' record keys."""
    return np.asarray(record_key_sums, dtype=np.int64) % KEY_RANGE


def true_counts_for(published: int, source: str | Path = KEYED) -> set[int]:
    """The true counts the table at `source` publishes as `published`."""
    return load_ptable(source).true_counts_for(published)
