"""Cell-key perturbation matches ONS's own implementation on its published 10-5 table, and
the platform's own table draws its noise from the cell key.

Expected figures: `tests/data/cell-key/ons_perturbed.csv`, made by ONS's
`cell-key-perturbation` 3.1.0 (`create_perturbed_table`) from `microdata.csv` with the
script beside them; CI reads the committed output and never needs ONS's package.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from analysis.perturbation import (
    KEY_RANGE,
    KEYED,
    MAX_NOISE,
    TEN_FIVE,
    VARIANCE,
    build_ptable,
    cell_keys,
    load_ptable,
    read_ptable,
    true_counts_for,
    write_ptable,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "cell-key"
# sha256 of ptable_10_5_rule.csv as the RECORD of ONS's wheel lists it (3.1.0).
ONS_RECORD_SHA256 = "BdjszKlLaUP4s2SEo2kY3EECXugVEpOSOkblyDeEN1E"


def test_the_shipped_table_is_ons_published_10_5_table_byte_for_byte():
    digest = hashlib.sha256(gzip.decompress(TEN_FIVE.read_bytes())).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == ONS_RECORD_SHA256


def _microdata():
    with (DATA / "microdata.csv").open() as file:
        return list(csv.DictReader(file))


def _ons():
    with (DATA / "ons_perturbed.csv").open() as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize("variables", [("borough",), ("borough", "age_band")])
def test_published_counts_equal_ons_create_perturbed_table(variables):
    counts, key_sums = defaultdict(int), defaultdict(int)
    for record in _microdata():
        cell = tuple(record[v] for v in variables)
        counts[cell] += 1
        key_sums[cell] += int(record["record_key"])
    table = load_ptable(TEN_FIVE)
    expected = [r for r in _ons() if r["table"] == "*".join(variables)]
    assert len(expected) >= 12
    for row in expected:
        cell = tuple(row[v] for v in variables)
        true, keys = counts.get(cell, 0), key_sums.get(cell, 0)
        assert true == int(row["pre_sdc_count"])
        assert int(cell_keys(keys)) == int(row["ckey"])
        assert int(table.pcv(true)) == int(row["pcv"])
        published = int(table.perturb(true, cell_keys(keys)))
        ons = None if row["count"] == "" else int(row["count"])
        assert (published if published >= 10 else None) == ons, (cell, true)
    assert max(int(r["pre_sdc_count"]) for r in expected) > 750  # the table's rows repeat


def test_a_published_count_stands_for_the_true_counts_the_table_says():
    assert true_counts_for(10, TEN_FIVE) == {10, 11, 12}
    assert true_counts_for(15, TEN_FIVE) == {13, 14, 15, 16, 17}
    assert true_counts_for(2450, TEN_FIVE) == {2448, 2449, 2450, 2451, 2452}
    assert true_counts_for(0, TEN_FIVE) == set(range(0, 10))
    # The platform's table: anything within 4 either way.
    assert true_counts_for(15) == set(range(11, 20))
    assert true_counts_for(2450) == set(range(2446, 2455))


def test_the_shipped_keyed_table_is_the_one_its_parameters_build():
    assert gzip.decompress(KEYED.read_bytes()) == gzip.decompress(write_ptable(build_ptable()))


def test_the_keyed_table_draws_unbiased_noise_from_the_cell_key():
    table = load_ptable(KEYED)
    for count in [1, 2, 3, 5, 10, 11, 57, 250, 251, 999, 123_456]:
        noise = table.perturb(np.full(KEY_RANGE, count), np.arange(KEY_RANGE)) - count
        assert abs(noise).max() <= MAX_NOISE
        assert np.all(count + noise >= 0)
        assert abs(noise.mean()) < 0.01, count  # unbiased, to the 256 keys' resolution
        if count >= MAX_NOISE:
            assert noise.var() == pytest.approx(VARIANCE, abs=0.05)
            assert len(set(noise.tolist())) == 2 * MAX_NOISE + 1
        else:  # near 0 the noise cannot go as far down
            assert len(set(noise.tolist())) >= 3


def test_the_same_people_always_publish_as_the_same_count():
    table = load_ptable()
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 3000, size=500)
    keys = rng.integers(0, KEY_RANGE, size=500)
    assert np.array_equal(table.perturb(counts, keys), table.perturb(counts.copy(), keys.copy()))


def test_a_table_with_a_missing_cell_key_is_refused(tmp_path):
    path = tmp_path / "short.csv"
    lines = ["pcv,ckey,pvalue"] + [f"{p},{k},0" for p in range(1, 251) for k in range(255)]
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match="needs all 256 cell keys"):
        read_ptable(path)
