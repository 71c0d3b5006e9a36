"""Test configuration: the Hypothesis profiles.

The profile comes from ``HYPOTHESIS_PROFILE`` (``dev`` or ``ci``); when unset it
is ``ci`` if the ``CI`` environment variable is set, else ``dev``. (Numba's
on-disk cache directory is chosen by ``.ci/run`` in CI, see CONTRIBUTING.md.)
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", max_examples=12, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
