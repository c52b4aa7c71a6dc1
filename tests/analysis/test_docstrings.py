"""The examples in the analysis package's docstrings run and give the numbers they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "analysis.intervals",
    "analysis.weighting",
    "analysis.multiplicity",
    "analysis.disclosure",
    "analysis.summary",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
