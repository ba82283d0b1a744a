"""Test-wide settings.

Under ``CI=true`` the hypothesis tests are derandomized: each run tries the same examples, so a
red CI run always names a reproducible case and a green one stays green for the same code.  Run
without ``CI`` (the default on a workstation), they draw new examples every time and keep
searching; ``VBCSIM_FUZZ_EXAMPLES`` raises the fuzz suite's example count for a longer search.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
