"""Output failures never reach the training loop: one warning, then the loop goes on."""

import io
import os
import subprocess
import sys
import warnings

import pytest

import trainbar


class ClosingStream(io.StringIO):
    """A stream that starts failing after a number of writes."""

    def __init__(self, fail_after: int, error: Exception) -> None:
        super().__init__()
        self.fail_after, self.error = fail_after, error

    def write(self, text):
        if self.fail_after <= 0:
            raise self.error
        self.fail_after -= 1
        return super().write(text)


@pytest.mark.reliability(
    "Output failures", "the stream closes, breaks its pipe or fails with EIO during the run", "one warning; the loop finishes with an exact count"
)
@pytest.mark.parametrize("error", [ValueError("I/O operation on closed file."), BrokenPipeError(32, "Broken pipe"), OSError(5, "EIO")])
def test_failing_stream_disables_display_with_one_warning(manual, error):
    clock, display = manual
    stream = ClosingStream(1, error)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = trainbar.bar(total=1000, file=stream, desc="train")
        for _ in range(1000):
            b.update(1)
            clock.advance(1.0)
            display.tick()
        b.close()
    relevant = [w for w in caught if "trainbar" in str(w.message)]
    assert len(relevant) == 1 and "training goes on" in str(relevant[0].message)
    assert b.n == 1000 and b.status == "done"


@pytest.mark.reliability("Output failures", "the stream is closed before the run", "one warning; the loop runs")
def test_stream_closed_before_the_run(manual):
    stream = io.StringIO()
    stream.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = trainbar.bar(range(100), file=stream)
        assert sum(1 for _ in b) == 100
    assert len([w for w in caught if "trainbar" in str(w.message)]) == 1


def test_write_to_a_closed_stream_warns_once_and_continues():
    stream = io.StringIO()
    stream.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            trainbar.write("hello", file=stream)
    assert len([w for w in caught if "trainbar.write" in str(w.message)]) == 1


@pytest.mark.reliability("Output failures", "a broken pipe (the reader of `| head` exits)", "one warning; the process finishes its loop")
def test_broken_pipe_in_a_real_pipeline_does_not_kill_the_loop():
    # The loop runs long enough for a periodic line after the reader has gone: a pipe really breaks.
    script = (
        "import sys, time, trainbar\n"
        "b = trainbar.bar(total=None, file=sys.stdout)\n"
        "end = time.monotonic() + 2.5\n"
        "while time.monotonic() < end:\n"
        "    b.update(1)\n"
        "b.close()\n"
        "sys.stderr.write('finished %d\\n' % (b.n > 0))\n"
    )
    env = dict(os.environ, TRAINBAR_LOG_INTERVAL="1")
    reader = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE)
    writer = subprocess.run(
        [sys.executable, "-c", script], stdout=reader.stdin, stderr=subprocess.PIPE, text=True, env=env, timeout=60
    )
    reader.stdin.close()
    reader.wait(timeout=10)
    assert "finished 1" in writer.stderr
    assert writer.stderr.count("training goes on") == 1


def test_error_inside_a_metric_shows_a_question_mark(manual):
    clock, display = manual

    def broken():
        raise RuntimeError("metric failed")

    stream = io.StringIO()
    b = trainbar.bar(total=2, file=stream)
    b.log(loss=broken)
    b.close()
    assert "loss=?" in stream.getvalue()


def test_a_failed_stream_is_remembered_by_itself_not_by_its_id():
    """Once a failed stream is gone, a new stream (which may get its id) is written to again."""
    import gc
    import weakref

    from trainbar.runtime import runtime as _runtime

    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("disk full")

    broken = Broken()
    with pytest.warns(RuntimeWarning, match="could not write"):
        trainbar.write("lost", file=broken)
    assert _runtime.current().has_failed(broken)
    gone = weakref.ref(broken)
    del broken
    gc.collect()
    assert gone() is None  # held weakly: its id can go to a new stream without muting it
