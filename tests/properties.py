"""How hard the property tests try: every example in CI, a third of them in `make test`.

Two Hypothesis profiles: `ci` (CI=true, as `.ci/run` runs) keeps each test's full example
count; `dev` (a contributor's `make test`) runs a third of it, at least one. Choose one
yourself with HYPOTHESIS_PROFILE=ci or dev. A test that sets its own count asks for it
through `examples(n)`, so the profile scales it too.
"""

from __future__ import annotations

import os

from hypothesis import settings

SHARE = {"ci": 1.0, "dev": 1 / 3}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
if PROFILE not in SHARE:
    raise RuntimeError(f"HYPOTHESIS_PROFILE must be one of {', '.join(SHARE)}, not {PROFILE!r}")


def examples(count: int) -> int:
    """The number of examples to run for a test that asks for `count` in CI."""
    return max(1, round(count * SHARE[PROFILE]))


for _name, _share in SHARE.items():
    settings.register_profile(_name, max_examples=max(1, round(100 * _share)))
settings.load_profile(PROFILE)
