"""Expected figures for the cell-key perturbation tests, from ONS's own implementation.

Run once, with pandas and ONS's package in a throwaway environment (CI never needs them):

    python -m venv /tmp/ckp && /tmp/ckp/bin/pip install pandas cell-key-perturbation==3.1.0
    /tmp/ckp/bin/python tests/data/cell-key/make_reference.py

It writes `microdata.csv` (fixed records with record keys, made with a fixed seed) and
`ons_perturbed.csv`: ONS's `create_perturbed_table` over them with the package's own
`ptable_10_5_rule.csv`, tabulated by borough and by borough and age band.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from cell_key_perturbation.create_perturbed_table import create_perturbed_table

HERE = Path(__file__).parent

rng = np.random.default_rng(20261201)
size = 6000
# Uneven groups, so counts run from 0 to well over 750 (where the table's rows repeat).
borough = rng.choice(
    [f"b{i:02d}" for i in range(12)],
    size=size,
    p=np.array([40, 20, 10, 8, 6, 5, 4, 3, 2, 1, 0.6, 0.4]) / 100,
)
age = rng.choice(["16-24", "25-44", "45-64", "65-plus"], size=size, p=[0.15, 0.4, 0.3, 0.15])
micro = pd.DataFrame(
    {"borough": borough, "age_band": age, "record_key": rng.integers(0, 256, size=size)}
)
micro.to_csv(HERE / "microdata.csv", index=False)

# The wheel installs its ptable at the environment's root.
ptable = pd.read_csv(Path(sys.prefix) / "ptable_10_5_rule.csv")
tables = []
for tab in (["borough"], ["borough", "age_band"]):
    out = create_perturbed_table(
        micro, ptable, geog=[], tab_vars=tab, record_key="record_key", threshold=10
    )
    out["table"] = "*".join(tab)
    if "age_band" not in out:
        out["age_band"] = ""
    tables.append(
        out[["table", "borough", "age_band", "pre_sdc_count", "ckey", "pcv", "pvalue", "count"]]
    )
pd.concat(tables).to_csv(HERE / "ons_perturbed.csv", index=False)
print("wrote", HERE / "ons_perturbed.csv")
