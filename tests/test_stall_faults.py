"""Planted faults in a real torch DataLoader, caught by the real watchdog thread.

Short thresholds (TRAINBAR_STALL) keep these fast. A blocked item waits on an event that the
bar's on_stall callback sets, so each test takes as long as the watchdog needs, no longer.
"""

import io
import multiprocessing
import os
import threading

import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, Dataset  # noqa: E402

import trainbar  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="DataLoader workers are forked here")


class Blocking(Dataset):
    """Item 3 blocks until ``release`` is set (a hung read); the others come at once."""

    def __init__(self, release):
        self.release = release

    def __len__(self):
        return 6

    def __getitem__(self, index):
        if index == 3:
            self.release.wait(30)
        return torch.full((2,), float(index))


class Dying(Dataset):
    """The worker that loads item 0 exits on the spot, as one killed from outside would.

    It is that worker's first item: an item a worker had already sent is unpickled from its
    shared memory, which fails at once once the worker is gone, so torch would give up before
    any watchdog could speak (a worker dying at its second item failed this test now and then).
    """

    def __len__(self):
        return 6

    def __getitem__(self, index):
        if index == 0:
            os._exit(0)
        return torch.zeros(2)


@pytest.fixture
def fast_watchdog(monkeypatch):
    monkeypatch.setenv("TRAINBAR_STALL", "0.3")


class Recovered:
    """A display listener that lets the test wait for the watchdog's recovery report."""

    def __init__(self):
        self.event = threading.Event()

    def on_recover(self, bar, info):
        if info["stalled_at"] == 3:
            self.event.set()


def run_blocked_loader(num_workers):
    release = multiprocessing.get_context("fork").Event()
    context = {"multiprocessing_context": "fork"} if num_workers else {}
    loader = DataLoader(Blocking(release), batch_size=1, num_workers=num_workers, **context)
    out = io.StringIO()
    reports = []
    recovered = Recovered()
    trainbar.runtime.runtime.current().subscribe(recovered)

    def on_stall(info):
        reports.append(info)
        if info["n"] == 3:  # a slow worker start-up on a busy machine may be reported first
            release.set()

    seen = [int(x[0, 0]) for x in trainbar.bar(loader, desc="train", file=out, on_stall=on_stall)]
    assert recovered.event.wait(10), out.getvalue()  # reported on the watchdog's next round
    return seen, reports, out.getvalue()


def test_item_that_blocks_in_the_main_process_is_reported_and_recovers(fast_watchdog):
    """num_workers=0: the report shows the data phase and the dataset line that blocks."""
    seen, reports, text = run_blocked_loader(num_workers=0)
    assert seen == [0, 1, 2, 3, 4, 5]
    info = reports[-1]
    assert info["phase"] == "waiting for data" and info["phase_code"] == "data" and info["n"] == 3
    assert "phase: waiting for data" in text
    assert "in __getitem__: self.release.wait(30)" in text
    assert "data loader (train): num_workers=0, so loading runs in the stuck thread" in text
    assert "try: DataLoader(timeout=600)" in text
    assert 'trainbar: "train" recovered after' in text


def test_item_that_blocks_in_a_worker_is_reported_with_the_worker_alive(fast_watchdog):
    """num_workers=1: the worker is alive and named, with a py-spy command for its pid."""
    seen, reports, text = run_blocked_loader(num_workers=1)
    assert seen == [0, 1, 2, 3, 4, 5]
    info = reports[-1]
    assert info["n"] == 3
    (loader,) = info["loaders"]
    (worker,) = loader["workers"]
    assert worker["alive"] is True
    assert f"data-loader workers (train): 1 of 1 alive: pid {worker['pid']}" in text
    assert f"try: py-spy dump --pid {worker['pid']}" in text
    assert "recovered after" in text


def test_dead_worker_is_reported_before_the_loader_gives_up(monkeypatch):
    """A worker that died is named in the report, with its exit code, while torch still waits."""
    # Torch notices a worker that exited with code 0 within 5 s; 2 s leaves the worker time to die.
    monkeypatch.setenv("TRAINBAR_STALL", "2")
    loader = DataLoader(Dying(), batch_size=1, num_workers=2, multiprocessing_context="fork")
    out = io.StringIO()
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        for _ in trainbar.bar(loader, desc="train", file=out):
            pass
    text = out.getvalue()
    assert "data-loader workers (train): 1 of 2 alive:" in text
    assert "exited with code 0" in text
    assert "recovered" not in text


def test_empty_loader_finishes_without_a_stall(fast_watchdog):
    """An empty loader ends the bar at once: nothing to report."""
    loader = DataLoader([], batch_size=4)
    out = io.StringIO()
    assert list(trainbar.bar(loader, desc="train", file=out)) == []
    assert "stall" not in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "train: 100% 0/0 elapsed 00:00 ?it/s done"


def test_loop_counted_by_hand_still_finds_the_loaders_workers(fast_watchdog):
    """A manual bar around `for x in loader`: the workers are found from the stuck thread's stack."""
    release = multiprocessing.get_context("fork").Event()
    loader = DataLoader(Blocking(release), batch_size=1, num_workers=1, multiprocessing_context="fork")
    reports = []

    def on_stall(info):
        reports.append(info)
        if info["n"] == 3:
            release.set()

    with trainbar.bar(total=len(loader), desc="train", file=io.StringIO(), on_stall=on_stall) as b:
        for _ in loader:
            b.update()
    (loader_info,) = reports[-1]["loaders"]
    assert loader_info["num_workers"] == 1 and loader_info["workers"][0]["alive"] is True
