"""Design-based estimates for domains, with variances by linearisation.

Records carry a frequency ``f`` (one for a respondent, or the size of an identical cell
from a GROUP BY), a weight ``w`` and a value ``y``. A domain is a group of records; the
rest of the sample counts as zeros, never dropped. With raking, the linearised values
are replaced by their residuals after projection on the raking margins (the limit of R's
iterative adjustment in ``svyrecvar``), so raked estimates are not given the variance of
fixed weights. Everything below is a function of per-category sums, computed with
``numpy.bincount``; no loop runs over respondents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Projection:
    """The raking margins, as the variance sees them."""

    codes: tuple[np.ndarray, ...]  # per margin, each record's category code
    sizes: tuple[int, ...]
    pinv_xtx: np.ndarray  # pseudo-inverse of the (frequency-weighted) category cross-table
    xtw2x: np.ndarray  # the same cross-table weighted by f w^2
    xtw: np.ndarray  # weighted total per category (sum of f w)

    @classmethod
    def build(cls, codes, sizes, f: np.ndarray, w: np.ndarray) -> Projection:
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        k = int(offsets[-1])
        xtx = np.zeros((k, k))
        xtw2x = np.zeros((k, k))
        for a, (code_a, size_a) in enumerate(zip(codes, sizes, strict=True)):
            for b, (code_b, size_b) in enumerate(zip(codes, sizes, strict=True)):
                if b < a:
                    continue
                index = code_a * size_b + code_b
                block = slice(offsets[a], offsets[a + 1]), slice(offsets[b], offsets[b + 1])
                count = np.bincount(index, weights=f, minlength=size_a * size_b)
                square = np.bincount(index, weights=f * w * w, minlength=size_a * size_b)
                xtx[block] = count.reshape(size_a, size_b)
                xtw2x[block] = square.reshape(size_a, size_b)
                if b != a:
                    xtx[block[1], block[0]] = xtx[block].T
                    xtw2x[block[1], block[0]] = xtw2x[block].T
        xtw = np.concatenate(
            [np.bincount(c, weights=f * w, minlength=s) for c, s in zip(codes, sizes, strict=True)]
        )
        return cls(tuple(codes), tuple(sizes), np.linalg.pinv(xtx, hermitian=True), xtw2x, xtw)


@dataclass(frozen=True)
class Sums:
    """Per-domain sums (arrays over domains) that every estimate below is built from."""

    n: np.ndarray  # sum f
    x: np.ndarray  # sum f y (the unweighted numerator for 0/1 values)
    w: np.ndarray  # sum f w
    wy: np.ndarray  # sum f w y
    wyy: np.ndarray  # sum f w y^2
    w2: np.ndarray  # sum f w^2
    w2y: np.ndarray  # sum f w^2 y
    w2yy: np.ndarray  # sum f w^2 y^2
    by_category: tuple[np.ndarray, ...] | None  # (K, domains) x4: f y, f, f w^2 y, f w^2

    def __sub__(self, other: Sums) -> Sums:
        cats = None
        if self.by_category is not None and other.by_category is not None:
            cats = tuple(a - b for a, b in zip(self.by_category, other.by_category, strict=True))
        return Sums(
            self.n - other.n,
            self.x - other.x,
            self.w - other.w,
            self.wy - other.wy,
            self.wyy - other.wyy,
            self.w2 - other.w2,
            self.w2y - other.w2y,
            self.w2yy - other.w2yy,
            cats,
        )

    def total(self) -> Sums:
        """The union of all the domains, as one domain."""
        cats = None
        if self.by_category is not None:
            cats = tuple(a.sum(axis=1, keepdims=True) for a in self.by_category)
        return Sums(
            *(
                np.atleast_1d(getattr(self, name).sum())
                for name in ("n", "x", "w", "wy", "wyy", "w2", "w2y", "w2yy")
            ),
            cats,
        )

    def pick(self, index) -> Sums:
        cats = None
        if self.by_category is not None:
            cats = tuple(a[:, index] for a in self.by_category)
        return Sums(
            *(
                getattr(self, name)[index]
                for name in ("n", "x", "w", "wy", "wyy", "w2", "w2y", "w2yy")
            ),
            cats,
        )


def domain_sums(f, w, y, domain, n_domains: int, projection: Projection | None) -> Sums:
    """Sum each quantity within each domain (records with domain -1 belong to none)."""
    inside = domain >= 0
    d, fi, wi, yi = domain[inside], f[inside], w[inside], y[inside]

    def per_domain(values):
        return np.bincount(d, weights=values, minlength=n_domains)

    fw = fi * wi
    fw2 = fw * wi
    sums = dict(
        n=per_domain(fi),
        x=per_domain(fi * yi),
        w=per_domain(fw),
        wy=per_domain(fw * yi),
        wyy=per_domain(fw * yi * yi),
        w2=per_domain(fw2),
        w2y=per_domain(fw2 * yi),
        w2yy=per_domain(fw2 * yi * yi),
    )
    cats = None
    if projection is not None:
        parts: list[list[np.ndarray]] = [[], [], [], []]
        for code, size in zip(projection.codes, projection.sizes, strict=True):
            index = code[inside] * n_domains + d
            for part, values in zip(parts, (fi * yi, fi, fw2 * yi, fw2), strict=True):
                counts = np.bincount(index, weights=values, minlength=size * n_domains)
                part.append(counts.reshape(size, n_domains))
        cats = tuple(np.vstack(part) for part in parts)
    return Sums(by_category=cats, **sums)


@dataclass(frozen=True)
class _Linear:
    """A linearised statistic's pieces: sum of w^2 u^2 and its category sums."""

    quad: np.ndarray
    xtu: np.ndarray | None  # (K, domains)
    xtw2u: np.ndarray | None


def _linear(sums: Sums) -> tuple[np.ndarray, _Linear]:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums.wy / sums.w
        quad = (sums.w2yy - 2 * mean * sums.w2y + mean * mean * sums.w2) / sums.w**2
        xtu = xtw2u = None
        if sums.by_category is not None:
            fy, fc, w2y, w2 = sums.by_category
            xtu = (fy - mean * fc) / sums.w
            xtw2u = (w2y - mean * w2) / sums.w
    return mean, _Linear(np.nan_to_num(quad), _nan0(xtu), _nan0(xtw2u))


def _nan0(array):
    return None if array is None else np.nan_to_num(array)


def _variance(pieces: _Linear, projection: Projection | None, n_total: float) -> np.ndarray:
    """n/(n-1) * sum((z - mean z)^2), with z the (projected) linearised values."""
    if projection is None or pieces.xtu is None:
        sum_z2, sum_z = pieces.quad, np.zeros_like(pieces.quad)
    else:
        beta = projection.pinv_xtx @ pieces.xtu
        sum_z2 = (
            pieces.quad
            - 2 * np.einsum("kg,kg->g", beta, pieces.xtw2u)
            + np.einsum("kg,kg->g", beta, projection.xtw2x @ beta)
        )
        sum_z = -(projection.xtw @ beta)
    if n_total <= 1:  # one response: no degrees of freedom, no variance to estimate
        return np.full_like(sum_z2, np.nan, dtype=float)
    variance = n_total / (n_total - 1) * (sum_z2 - sum_z * sum_z / n_total)
    return np.maximum(variance, 0.0)


@dataclass(frozen=True)
class DomainEstimates:
    """Weighted means (proportions for 0/1 values) for each domain and for all of them."""

    sums: Sums
    estimate: np.ndarray
    variance: np.ndarray
    srs_variance: np.ndarray  # variance under simple random sampling of the same size
    overall_estimate: float
    overall_variance: float
    overall_srs_variance: float
    difference: np.ndarray  # each domain minus the rest of the domains together
    difference_variance: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variance)

    @property
    def deff(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.variance / self.srs_variance

    @property
    def kish_deff(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sums.n * self.sums.w2 / self.sums.w**2


def estimate_domains(
    f,
    w,
    y,
    domain,
    n_domains: int,
    *,
    projection: Projection | None = None,
    n_total: float | None = None,
) -> DomainEstimates:
    """Estimate each domain's weighted mean, its variance, and its difference from the rest.

    `n_total` is the number of respondents in the whole sample (default: sum of f).
    """
    f = np.asarray(f, dtype=float)
    n_total = float(f.sum()) if n_total is None else float(n_total)
    sums = domain_sums(
        f,
        np.asarray(w, dtype=float),
        np.asarray(y, dtype=float),
        np.asarray(domain),
        n_domains,
        projection,
    )
    everyone = sums.total()
    mean, pieces = _linear(sums)
    all_mean, all_pieces = _linear(everyone)
    rest_mean, rest_pieces = _linear(_broadcast_total(everyone, n_domains) - sums)
    difference = _Linear(
        pieces.quad + rest_pieces.quad,
        None if pieces.xtu is None else pieces.xtu - rest_pieces.xtu,
        None if pieces.xtw2u is None else pieces.xtw2u - rest_pieces.xtw2u,
    )
    return DomainEstimates(
        sums=sums,
        estimate=mean,
        variance=_variance(pieces, projection, n_total),
        srs_variance=_srs_variance(sums, mean),
        overall_estimate=float(all_mean[0]),
        overall_variance=float(_variance(all_pieces, projection, n_total)[0]),
        overall_srs_variance=float(_srs_variance(everyone, all_mean)[0]),
        difference=mean - rest_mean,
        difference_variance=_variance(difference, projection, n_total),
    )


def _broadcast_total(total: Sums, n_domains: int) -> Sums:
    def spread(a):
        return np.repeat(a, n_domains, axis=-1)

    cats = None if total.by_category is None else tuple(spread(a) for a in total.by_category)
    return Sums(
        *(
            spread(getattr(total, name))
            for name in ("n", "x", "w", "wy", "wyy", "w2", "w2y", "w2yy")
        ),
        cats,
    )


def _srs_variance(sums: Sums, mean: np.ndarray) -> np.ndarray:
    """Weighted population variance (R's svyvar) divided by n: the with-replacement SRS
    variance of a mean of the same size."""
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = (sums.wyy - 2 * mean * sums.wy + mean * mean * sums.w) / sums.w
        return spread * sums.n / (sums.n - 1) / sums.n
