"""Adjusted comparisons: design-based logistic regression, as R's
`svyglm(family = quasibinomial())` fits it.

A lower figure for one group may only reflect its age profile; fitting the indicator on
several demographics at once compares groups with the others held equal. The coefficients
solve the weighted score equations (iteratively reweighted least squares with the survey
weights); their covariance is the sandwich (X'WX)^-1 V (X'WX)^-1, V the design variance of
the weighted scores. After raking, the scores are replaced by their residuals on the raking
margins (as in `analysis.linearisation`). Degrees of freedom are R's: the design's (the
responses in the model less one) plus one, less the number of coefficients.

`marginal_predictions` then gives each group's predicted share with everyone else's
characteristics as they are (average marginal predictions): "if everyone in London were
aged 16-24, this share would have heard of Prevent".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis._checks import check_choice, scipy_special
from analysis.coding import Coded, combine, encode
from analysis.summary import Proportion, _indicator_classes
from analysis.weighting import RakeResult, rake

MAX_ITERATIONS = 50
TOLERANCE = 1e-10  # on the change in deviance, relative, as glm's epsilon (1e-8) and finer


class SeparationError(ValueError):
    """A group in which everyone answered the same way: its coefficient would be infinite."""


@dataclass(frozen=True)
class Term:
    name: str  # "borough=Camden": the variable and the category against its reference
    variable: str | None  # None for the intercept
    category: str | None


@dataclass(frozen=True)
class LogisticFit:
    terms: list[Term]
    coefficients: np.ndarray
    covariance: np.ndarray
    df: float
    references: dict[str, str]  # each variable's reference category
    levels: dict[str, tuple[str, ...]]
    n: int  # responses in the model
    iterations: int
    _design: tuple  # per cell of respondents: x, summed weights, in the model
    _respondents: np.ndarray  # per cell: how many respondents
    _outcome: np.ndarray  # per cell: 1 for a positive answer
    _variance: object = None  # values per cell and respondent -> their sandwich variance

    @property
    def standard_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    @property
    def t(self) -> np.ndarray:
        return self.coefficients / self.standard_errors

    @property
    def p_values(self) -> np.ndarray:
        return 2 * scipy_special().stdtr(self.df, -np.abs(self.t))

    def odds_ratios(self, confidence_level: float = 0.95) -> list[tuple[str, float, float, float]]:
        """(term, odds ratio, lower, upper) for every term but the intercept."""
        q = scipy_special().stdtrit(self.df, 1 - (1 - confidence_level) / 2)
        found = []
        for term, b, se in zip(self.terms, self.coefficients, self.standard_errors, strict=True):
            if term.variable is not None:
                found.append((term.name, math.exp(b), math.exp(b - q * se), math.exp(b + q * se)))
        return found

    def london_share(self) -> float:
        """The weighted share answering positively among the respondents in the model."""
        x, w, inside = self._design
        y = self._outcome
        return float(w[inside] @ y[inside] / w[inside].sum())

    def counts(self, variable: str) -> dict[str, tuple[float, float]]:
        """Respondents in the model in each category of `variable`, and how many of them
        answered positively: unweighted, for the disclosure rules."""
        x, _w, inside = self._design
        n, y = self._respondents, self._outcome
        columns = {t.category: i for i, t in enumerate(self.terms) if t.variable == variable}
        found = {}
        for category in self.levels[variable]:
            if category in columns:
                members = inside & (x[:, columns[category]] == 1)
            else:  # the reference: in none of the variable's other categories
                members = inside & ~np.any(x[:, list(columns.values())] == 1, axis=1)
            found[category] = (float(n[members].sum()), float((n * y)[members].sum()))
        return found

    def marginal_predictions(
        self, variable: str, confidence_level: float = 0.95
    ) -> list[tuple[str, float, float, float, float]]:
        """Each category of `variable`: (category, predicted share, standard error, lower,
        upper), everyone given that category with everything else as it is, averaged with
        the weights. Its variance, as R's `svypredmeans`: the variance of the weighted mean
        of the fitted values (the raking projection included), plus the coefficients' part
        by the delta method."""
        every, weights, inside = self._design
        x, w = every[inside], weights[inside]
        columns = [i for i, t in enumerate(self.terms) if t.variable == variable]
        q = scipy_special().stdtrit(self.df, 1 - (1 - confidence_level) / 2)
        found = []
        for category in self.levels[variable]:
            moved = x.copy()
            moved[:, columns] = 0.0
            for i in columns:
                if self.terms[i].category == category:
                    moved[:, i] = 1.0
            mu = _expit(moved @ self.coefficients)
            share = float(w @ mu / w.sum())
            gradient = (w * mu * (1 - mu)) @ moved / w.sum()
            variance = float(gradient @ self.covariance @ gradient)
            if self._variance is not None:  # the fitted values' own part
                fitted = np.zeros(every.shape[0])
                fitted[inside] = (mu - share) / w.sum()
                variance += float(self._variance(fitted[:, None])[0, 0])
            se = math.sqrt(variance)
            found.append((category, share, se, share - q * se, share + q * se))
        return found


def _expit(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


def survey_logistic(
    data: Mapping[str, object],
    *,
    indicator: Proportion,
    predictors: Sequence[str],
    weights: str | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    raking: RakeResult | None = None,
    frequency: str | None = None,
    reference: str = "first",
    strata: str | None = None,
) -> LogisticFit:
    """Fit the indicator on the categorical `predictors` together.

    Parameters
    ----------
    data : mapping of str to array_like
        One record per respondent.
    indicator : Proportion
        The outcome: its positive answers against the rest; its excluded answers (and
        missing ones) are left out of the model but stay in the design.
    predictors : sequence of str
        Categorical columns; each category is compared with the first (the reference).
        Respondents missing any predictor are left out of the model.
    weights : str, optional
        Column of design weights.
    margins : mapping, optional
        Population margins to rake to (as `analysis.rake`); the variance accounts for it.
    raking : RakeResult, optional
        Weights already raked on these records.
    frequency : str, optional
        Column giving how many identical respondents each record stands for (cells from
        a GROUP BY, as the platform's reports hand over).
    reference : {"first", "largest"}
        Each variable's reference category: the first (as R does) or the one with most
        respondents in the model (steadier odds ratios to read).
    strata : str, optional
        Column of strata (the periods a trend rakes on their own): each stratum is raked
        to `margins` on its own, the scores are centred within each stratum, and the
        degrees of freedom are R's for a stratified design (respondents in the model less
        the strata they fall in, plus one, less the coefficients).

    Raises
    ------
    SeparationError
        Naming the group where everyone answered the same way.
    """
    check_choice("reference", reference, ("first", "largest"))
    answer, value, counted = _indicator_classes(data[indicator.column], indicator)
    columns = [encode(data[name]) for name in predictors]
    size = len(answer)
    f = np.ones(size) if frequency is None else np.asarray(data[frequency], dtype=float)
    w = np.ones(size) if weights is None else np.asarray(data[weights], dtype=float)
    stratum = (
        Coded(np.zeros(size, dtype=np.intp), ("all",)) if strata is None else encode(data[strata])
    )
    if np.any(stratum.codes < 0):
        raise ValueError(f"every record needs a stratum in column {strata!r}")
    if strata is not None and margins:
        # Raking each stratum on its own is raking to the margins crossed with the stratum,
        # as R's rake(~stratum + variable): one fixed point, and the projection follows.
        margins = {
            f"{strata}*{variable}": {
                f"{label}*{category}": population
                for label in stratum.labels
                for category, population in given.items()
            }
            for variable, given in margins.items()
        }
    if raking is None and margins:
        categories = {}
        for variable in margins:
            parts = [encode(data[c]) for c in variable.split("*")]
            categories[variable] = parts[0] if len(parts) == 1 else combine(parts)
        raking = rake(categories, margins, base_weights=f * w)
    if raking is not None:
        w = raking.weights / f  # each respondent's weight
    # Respondents who share every predictor, raking cell and answer share a score: count
    # them once. Class 2: not in the model (an excluded answer or a missing predictor).
    klass = np.where(counted, value, 2).astype(np.intp)[answer]
    for coded in columns:
        klass = np.where(coded.codes < 0, 2, klass)
    sizes = [len(c.labels) + 1 for c in columns]
    key = np.zeros(size, dtype=np.int64)
    for coded, width in zip(columns, sizes, strict=True):
        key = key * width + (coded.codes + 1)
    cells = 1 if raking is None else raking.cell_factor.size
    if raking is not None:
        key = key * cells + raking.cell_of
    h = len(stratum.labels)
    key = (key * h + stratum.codes) * 3 + klass
    present, cell_of = np.unique(key, return_inverse=True)
    count = np.bincount(cell_of, weights=f)
    sw = np.bincount(cell_of, weights=f * w)
    sw2 = np.bincount(cell_of, weights=f * w * w)
    klass_c = present % 3
    rest = present // 3
    stratum_c = rest % h
    rest = rest // h
    raking_cell = rest % cells
    rest = rest // cells
    codes_c = []
    for width in reversed(sizes):
        codes_c.append(rest % width - 1)
        rest = rest // width
    codes_c = codes_c[::-1]
    inside = klass_c < 2
    y = np.where(inside, klass_c, 0).astype(float)
    terms = [Term("(Intercept)", None, None)]
    blocks = [np.ones((present.size, 1))]
    references, levels = {}, {}
    for name, coded, codes in zip(predictors, columns, codes_c, strict=True):
        used = [c for c in range(len(coded.labels)) if np.any(inside & (codes == c))]
        if reference == "largest":
            used.sort(key=lambda c: -count[inside & (codes == c)].sum())
        labels = [coded.labels[c] for c in used]
        references[name], levels[name] = labels[0], tuple(labels)
        for c in used[1:]:
            terms.append(Term(f"{name}={coded.labels[c]}", name, coded.labels[c]))
            blocks.append((codes == c).astype(float)[:, None])
    x = np.hstack(blocks)
    _check_separation(x, y, inside, terms)
    xs, ys, ws = x[inside], y[inside], sw[inside]
    beta, iterations = _irls(xs, ys, ws)
    mu = _expit(xs @ beta)
    information = xs.T @ (xs * (ws * mu * (1 - mu))[:, None])
    bread = np.linalg.inv(information)
    # Each cell's score per respondent (zero outside the model), in units of the
    # coefficients.
    scores = np.zeros((present.size, x.shape[1]))
    scores[inside] = (xs * (ys - mu)[:, None]) @ bread

    def variance(values: np.ndarray) -> np.ndarray:
        """The sandwich of values per cell and respondent, as the coefficients' is."""
        return sum(
            _sandwich(values * part[:, None], count * part, sw, sw2, raking, raking_cell)
            for part in (stratum_c == at for at in range(h))
            if np.any(part)
        )

    covariance = variance(scores)
    n_model = int(count[inside].sum())
    strata_in_model = len(np.unique(stratum_c[inside & (count > 0)]))
    df = float(n_model - strata_in_model + 1 - x.shape[1])
    return LogisticFit(
        terms, beta, covariance, df, references, levels, n_model,
        iterations, (x, sw, inside), count, y, variance,
    )  # fmt: skip


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, int]:
    """Weighted logistic regression by iteratively reweighted least squares."""
    beta = np.zeros(x.shape[1])
    mean = float(w @ y / w.sum())
    beta[0] = math.log(mean / (1 - mean)) if 0 < mean < 1 else 0.0
    deviance = math.inf
    for iteration in range(1, MAX_ITERATIONS + 1):
        eta = x @ beta
        mu = _expit(eta)
        working = w * mu * (1 - mu)
        z = eta + (y - mu) / (mu * (1 - mu))
        beta = np.linalg.solve(x.T @ (x * working[:, None]), x.T @ (working * z))
        mu = np.clip(_expit(x @ beta), 1e-300, 1 - 1e-16)
        new = -2 * float(w @ (y * np.log(mu) + (1 - y) * np.log1p(-mu)))
        if abs(new - deviance) < TOLERANCE * (abs(new) + 0.1):
            return beta, iteration
        deviance = new
    raise ValueError(f"the model did not converge in {MAX_ITERATIONS} iterations")


def _sandwich(scores, count, sw, sw2, raking, raking_cell) -> np.ndarray:
    """n/(n-1) times the sum of squares about their mean of the respondents' weighted
    scores w (u - m'B), where u is a cell's score per respondent and m'B its projection on
    the raking margins (least squares over respondents, unweighted: the limit of R's
    iterative adjustment). Sums run over cells: a cell of c respondents with weights
    summing to sw and squares to sw2 adds sw2 * e e' and sw * e."""
    if raking is not None:
        dummies = np.hstack(
            [
                np.eye(len(raking.categories[v]))[raking.cell_codes[v][raking_cell]]
                for v in raking.categories
            ]
        )
        normal = dummies.T @ (dummies * count[:, None])
        fitted = dummies @ (
            np.linalg.pinv(normal, hermitian=True) @ (dummies.T @ (scores * count[:, None]))
        )
        scores = scores - fitted
    n = float(count.sum())
    total = (scores * sw[:, None]).sum(axis=0)
    squares = scores.T @ (scores * sw2[:, None])
    return n / (n - 1) * (squares - np.outer(total, total) / n)


def _check_separation(x, y, inside, terms) -> None:
    for column, term in enumerate(terms):
        if term.variable is None:
            continue
        members = inside & (x[:, column] == 1)
        answers = y[members]
        if answers.size and (answers.min() == answers.max()):
            said = "yes" if answers[0] == 1 else "no"
            raise SeparationError(
                f"Everyone in the group {term.category!r} ({term.variable}) answered "
                f"'{said}': the model cannot compare them. Leave {term.variable} out, or "
                "choose a longer period"
            )


__all__ = ["Coded", "LogisticFit", "SeparationError", "Term", "survey_logistic"]
