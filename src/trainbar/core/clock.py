"""The one clock that every timing decision reads.

Bars, estimators and the display call ``_clock.now()`` through this module at call time, so
``trainbar.testing.FakeClock`` can replace it and make rate, ETA and throttling exact in tests.
"""

import time

now = time.perf_counter
