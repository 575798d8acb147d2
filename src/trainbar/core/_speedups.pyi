# The compiled twin of trainbar.core.counter.PyCounter (_speedups.c), as type checkers see it.
from typing import Any

class Counter:
    _n: Any
    def update(self, n: Any = 1, **metrics: Any) -> None: ...
