"""The training thread never waits on output or on user code.

Each case runs a real training-shaped loop in a child process whose output nobody reads (a
terminal, a pipe, a FIFO) and measures the loop itself: the steps it completed, written to a
file of its own. trainbar's internals are never inspected.
"""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest

import trainbar
from ptyrun import child_environment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX terminals, pipes and FIFOs")

EPOCHS, STEPS = 20, 200

# A loop that writes a lot: nested bars opened and closed, a metric every step, a message and a
# print of a kilobyte every 10 steps on each standard stream: about 2 MB in all, far more than a
# terminal, a pipe or a FIFO holds when nobody reads it.
LOOP = textwrap.dedent(
    f"""
    import os, sys, time, trainbar
    result = os.environ["RESULT"]
    steps, started = 0, time.monotonic()
    for epoch in trainbar.bar(range({EPOCHS}), desc="epoch"):
        for step in trainbar.bar(range({STEPS}), desc="step", leave=False):
            trainbar.log(loss=1.0 / (step + 1))
            if step % 10 == 0:
                for _ in trainbar.bar(range(3), desc="eval"):
                    pass
                trainbar.write(f"epoch {{epoch}} step {{step}}", "w" * 1000, file=sys.stderr)
                print("print", epoch, step, "p" * 1000)
                print("to stderr", epoch, step, "e" * 1000, file=sys.stderr)
            steps += 1
    with open(result, "w") as f:
        f.write(f"{{steps}} {{time.monotonic() - started:.3f}}")
    """
)


def wait_for(path, process, timeout):
    """The loop's own record, once it has written it; None if it did not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().split()
        if process.poll() is not None and not path.exists():
            return None
        time.sleep(0.05)
    return None


def finish(process, timeout=20):
    """The exit status, or None if the process did not end; it is killed then."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def assert_loop_ran(record, process):
    assert record is not None, "the training loop stopped: it never finished its steps"
    steps, seconds = int(record[0]), float(record[1])
    assert steps == EPOCHS * STEPS
    assert seconds < 20, f"the loop took {seconds}s"
    status = finish(process)
    # The process ends on its own (its exit hook gives the output two seconds), and cleanly:
    # no "Fatal Python error" from a writer thread stuck in a write at interpreter shutdown.
    assert status == 0, f"exit status {status}"


def reliability(tried, holds):
    return pytest.mark.reliability("Concurrency", tried, holds)


@reliability("a terminal nobody reads (a frozen terminal, a paused tmux, Ctrl-S)",
             "the training loop runs to its end at full speed; the process exits 0")  # fmt: skip
def test_a_terminal_nobody_reads_does_not_stop_training(tmp_path):
    master, slave = os.openpty()
    result = tmp_path / "result"
    process = subprocess.Popen([sys.executable, "-c", LOOP], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                               env=child_environment(RESULT=str(result)))  # fmt: skip
    os.close(slave)
    try:
        assert_loop_ran(wait_for(result, process, 60), process)
    finally:
        process.kill()
        os.close(master)


@reliability("a stderr pipe nobody reads, in log mode (the bars, trainbar.write and print(file=sys.stderr) there)",
             "the training loop runs to its end; the process exits 0")  # fmt: skip
def test_a_pipe_nobody_reads_does_not_stop_training(tmp_path):
    # Standard output goes to a file: a print() there blocks or not as it would without trainbar.
    result = tmp_path / "result"
    with open(tmp_path / "stdout", "w") as out:
        process = subprocess.Popen([sys.executable, "-c", LOOP], stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.PIPE, env=child_environment(RESULT=str(result)))  # fmt: skip
        try:
            assert_loop_ran(wait_for(result, process, 60), process)
        finally:
            process.kill()
            process.stderr.close()


def fifo_reader(path, lines, stop_after):
    """Opens the FIFO, reads ``stop_after`` lines, then stops reading but keeps it open."""
    with open(path, "rb") as fifo:
        for _ in range(stop_after):
            line = fifo.readline()
            if not line:
                return
            lines.append(line)
        time.sleep(60)


@reliability("TRAINBAR_JSONL naming a FIFO whose reader stops reading, or that nobody opens",
             "the training loop runs to its end; the process exits 0")  # fmt: skip
@pytest.mark.parametrize("reader", ["stops after three lines", "never opens it"])
def test_an_event_fifo_that_is_not_read_does_not_stop_training(tmp_path, reader):
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    lines: list = []
    if reader == "stops after three lines":
        threading.Thread(target=fifo_reader, args=(fifo, lines, 3), daemon=True).start()
    result = tmp_path / "result"
    log = open(tmp_path / "log", "w")  # a regular file: only the event stream can block here
    process = subprocess.Popen([sys.executable, "-c", LOOP], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               env=child_environment(RESULT=str(result), TRAINBAR_JSONL=str(fifo)))  # fmt: skip
    try:
        assert_loop_ran(wait_for(result, process, 60), process)
    finally:
        process.kill()
        log.close()
    if reader == "stops after three lines":
        assert len(lines) == 3 and lines[0].startswith(b'{"v":1,"event":"open"')


@reliability("a metric callable that never returns, or takes 0.3 s",
             "the loop is not slowed; other bars and metrics keep being drawn; the callable shows ? with one warning")  # fmt: skip
@pytest.mark.parametrize("stuck", ["never returns", "takes 0.3 s"])
def test_a_metric_callable_that_hangs_holds_up_nothing(stuck):
    from conftest import FakeTerminal

    release = threading.Event()
    callable_metric = (lambda: release.wait(30)) if stuck == "never returns" else (lambda: time.sleep(0.3) or 1.0)
    term = FakeTerminal(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outer = trainbar.bar(total=2, desc="epoch", file=term)
            inner = trainbar.bar(total=10**6, desc="step", file=term)
            inner.log(lr=callable_metric, loss=0.5)
            started = time.monotonic()
            steps = 0
            while time.monotonic() - started < 1.5:  # the display ticks about 15 times meanwhile
                inner.update(1)
                steps += 1
            drawn_after = len(term.getvalue())
            time.sleep(0.3)
            inner.update(7)
            time.sleep(0.3)
            inner.close()
            outer.close()
        finally:
            release.set()
    assert steps > 10_000  # the loop ran freely: a stuck frame would have held it in the lock before
    later = term.getvalue()[drawn_after:]
    assert "lr=?" in later and "loss=0.5000" in later  # frames went on, the callable shown as ?
    assert len([w for w in caught if "callable" in str(w.message)]) == 1


@reliability("closing a bar while 20 others are live, on a terminal",
             "nothing is rendered or written on the closing thread: the close is handed to the display thread")  # fmt: skip
def test_closing_a_bar_renders_nothing_on_the_training_thread(monkeypatch):
    from trainbar.render import ansi
    from trainbar.runtime import channels

    master, slave = os.openpty()
    drained = threading.Event()

    def drain():  # someone is reading this terminal
        while not drained.is_set():
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    return

    threading.Thread(target=drain, daemon=True).start()
    terminal = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), encoding="utf-8", write_through=True)
    rendered_on: list = []
    real_line = ansi.terminal_line

    def spy(*args, **kwargs):
        rendered_on.append(threading.get_ident())
        return real_line(*args, **kwargs)

    monkeypatch.setattr(channels, "terminal_line", spy)
    try:
        live = [trainbar.bar(total=100, desc=f"bar {i}", file=terminal) for i in range(20)]
        assert trainbar.flush()
        rendered_on.clear()
        me = threading.get_ident()
        for _ in range(50):
            trainbar.bar(total=3, desc="short", file=terminal).close()
        assert me not in rendered_on
        for bar in reversed(live):
            bar.close()
        assert trainbar.flush()
    finally:
        drained.set()
        terminal.close()
        os.close(master)


FORKS = textwrap.dedent(
    """
    import os, sys, time, trainbar
    bars = [trainbar.bar(total=10**6, desc=f"bar {i}") for i in range(300)]
    for i, b in enumerate(bars):
        b.log(loss=i * 0.5, lr=lambda: 1e-3)
    children = []
    for i in range(300):
        for b in bars[:20]:
            b.update(1)
        pid = os.fork()
        if pid == 0:
            for inherited in bars:  # readable: every lock a parent's thread might have held is new
                inherited.n, inherited.rate, inherited.eta, inherited.snapshot()
            bars[i].close()  # closed here, drawn by nobody: it is the parent's
            for _ in trainbar.bar(range(50), desc=f"child {i}"):
                pass
            trainbar.write(f"child {i} wrote")
            trainbar.flush()
            os._exit(0)
        children.append(pid)
    deadline = time.monotonic() + 90
    codes = []
    for pid in children:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes.append(os.waitstatus_to_exitcode(status))
                break
            if time.monotonic() > deadline:
                codes.append("hung")
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.01)
    for b in bars:
        b.close()
    print("codes", sorted(set(map(str, codes))), flush=True)
    """
)


@reliability("300 forks while 300 bars are drawn to a slowly read terminal, with metrics, rates and callables in use",
             "no child deadlocks; each can read and close what it inherited, and draws its own bars only")  # fmt: skip
def test_forks_while_bars_are_drawn_never_deadlock():
    env = child_environment(TRAINBAR_MODE="tty", COLUMNS="120")
    process = subprocess.Popen([sys.executable, "-c", FORKS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err = bytearray()

    def read_slowly():  # the parent's frames often wait in a write, as on a busy terminal
        while True:
            chunk = process.stderr.read1(4096)
            if not chunk:
                return
            err.extend(chunk)
            time.sleep(0.005)

    reader = threading.Thread(target=read_slowly, daemon=True)
    reader.start()
    try:
        out = process.stdout.read().decode()
        assert process.wait(timeout=240) == 0, bytes(err[-3000:]).decode(errors="replace")
    finally:
        process.kill()
    assert "codes ['0']" in out, out[-2000:]
    assert out.count("wrote") == 300
    assert "bar 299" not in out  # the parent's bars are drawn on its stderr only


SWAPS = textwrap.dedent(
    """
    import threading, trainbar
    def bars():  # bars open and close on another thread: the standard streams are swapped often
        for _ in range(300):
            with trainbar.bar(total=1, desc="swap") as b:
                b.update(1)
            trainbar.flush()
    worker = threading.Thread(target=bars)
    worker.start()
    while worker.is_alive():
        print("a", "b", "c", "d", "e", "f", "g", "h")  # each argument is a write of its own
    worker.join()
    print("DONE")
    """
)


@reliability("print() with many arguments on one thread while bars open and close on another",
             "no crash: a stream proxy swapped out mid-print stays alive and usable")  # fmt: skip
def test_printing_while_the_standard_streams_are_swapped_never_crashes():
    result = subprocess.run([sys.executable, "-c", SWAPS], capture_output=True, text=True, timeout=120,
                            env=child_environment(TRAINBAR_MODE="tty"))  # regions: proxies come and go  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.rstrip().endswith("DONE")
    assert all(line == "a b c d e f g h" for line in result.stdout.splitlines()[:-1])
