"""An in-memory stand-in for a torch.distributed store, with the same blocking rule.

Like a TCPStore, ``get`` and ``multi_get`` on a key nobody wrote would wait for the timeout:
here they raise at once, so a test sees the mistake instead of hanging.
"""

from __future__ import annotations

import threading


class StoreTimeout(RuntimeError):
    pass


class FakeStore:
    def __init__(self) -> None:
        self.data: dict = {}
        self.calls: list = []  # (operation, thread id)
        self.broken: Exception | None = None

    def _call(self, operation: str) -> None:
        self.calls.append((operation, threading.get_ident()))
        if self.broken is not None:
            raise self.broken

    def set(self, key, value) -> None:
        self._call("set")
        self.data[key] = value.encode() if isinstance(value, str) else bytes(value)

    def get(self, key) -> bytes:
        self._call("get")
        if key not in self.data:
            raise StoreTimeout(f"wait timeout after 5000ms, keys: {key}")
        return self.data[key]

    def multi_get(self, keys) -> list:
        self._call("multi_get")
        missing = [key for key in keys if key not in self.data]
        if missing:
            raise StoreTimeout(f"wait timeout after 5000ms, keys: {missing}")
        return [self.data[key] for key in keys]

    def check(self, keys) -> bool:
        self._call("check")
        return all(key in self.data for key in keys)

    def compare_set(self, key, expected, desired) -> bytes:
        self._call("compare_set")
        desired = desired.encode() if isinstance(desired, str) else bytes(desired)
        expected = expected.encode() if isinstance(expected, str) else bytes(expected)
        current = self.data.get(key)
        if (current is None and expected == b"") or current == expected:
            self.data[key] = desired
            return desired
        return current if current is not None else expected

    def append(self, key, value) -> None:
        self._call("append")
        self.data[key] = self.data.get(key, b"") + (value.encode() if isinstance(value, str) else value)

    def operations(self) -> list:
        return [operation for operation, _ in self.calls]
