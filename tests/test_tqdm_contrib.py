"""trainbar.contrib: tqdm.contrib's helpers (tenumerate, tzip, tmap, itertools, concurrent, logging)
drawing trainbar's bars, with results equal to the plain builtins'.

Bars write to an ``io.StringIO`` (a log file to trainbar: whole plain lines), so the last line of
a bar says what it counted.
"""

import io
import itertools
import logging
import math
import multiprocessing
import operator
import re
import subprocess
import sys
from typing import ClassVar

import pytest

import trainbar
from frameworks import python, run_logged, script_environment, write_script
from ptyrun import run_in_pty
from trainbar import tqdm
from trainbar.compat.tqdm import TqdmWarning

CONTROL = re.compile(r"[\r\b\x1b]")


def lines(stream):
    return stream.getvalue().splitlines()


def last(stream):
    return lines(stream)[-1]


# --- tenumerate, tzip, tmap ----------------------------------------------------------------------


def test_tenumerate_is_enumerate_with_a_bar(manual):
    from trainbar.contrib import tenumerate

    stream = io.StringIO()
    assert list(tenumerate("abc", start=1, file=stream, desc="letters")) == list(enumerate("abc", 1))
    assert last(stream).startswith("letters: 100% 3/3 ")


def test_tenumerate_walks_a_numpy_array_as_ndenumerate():
    np = pytest.importorskip("numpy")
    from trainbar.contrib import tenumerate

    stream = io.StringIO()
    grid = np.arange(6).reshape(2, 3)
    assert list(tenumerate(grid, file=stream)) == list(np.ndenumerate(grid))
    trainbar.flush()
    assert "100% 6/6 " in last(stream)


def test_tzip_and_tmap_are_zip_and_map_counted_on_the_first_iterable(manual):
    from trainbar.contrib import tmap, tzip

    stream = io.StringIO()
    assert list(tzip([1, 2, 3], "abcd", file=stream)) == list(zip([1, 2, 3], "abcd"))
    assert last(stream).startswith("it: 100% 3/3 ")
    assert list(tmap(pow, [2, 3, 4], [2, 2, 2], file=stream, desc="pow")) == [4, 9, 16]
    assert last(stream).startswith("pow: 100% 3/3 ")


def test_contrib_helpers_accept_another_tqdm_class(manual):
    from trainbar.contrib import tmap, tzip

    made = []

    class Recording(tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    stream = io.StringIO()
    assert list(tzip("ab", "cd", tqdm_class=Recording, file=stream)) == [("a", "c"), ("b", "d")]
    assert list(tmap(str.upper, "xy", tqdm_class=Recording, file=stream)) == ["X", "Y"]
    assert [(bar.n, bar.total) for bar in made] == [(2, 2), (2, 2)]


def test_dummy_tqdm_file_writes_whole_lines_through_write(manual):
    from trainbar.contrib import DummyTqdmFile

    stream = io.StringIO()
    wrapped = DummyTqdmFile(stream)
    wrapped.write("one, ")
    wrapped.write("still one\ntwo")
    assert stream.getvalue() == "one, still one\n"
    del wrapped  # the part after the last newline is written when the wrapper goes
    assert stream.getvalue() == "one, still one\ntwo"


# --- itertools -----------------------------------------------------------------------------------


def test_product_is_itertools_product_with_its_size_as_total(manual):
    from trainbar.contrib.itertools import product

    stream = io.StringIO()
    assert list(product("ab", range(3), file=stream, desc="grid")) == list(itertools.product("ab", range(3)))
    assert last(stream).startswith("grid: 100% 6/6 ")
    assert list(product("xy", repeat=3, file=stream)) == list(itertools.product("xy", repeat=3))
    assert last(stream).startswith("it: 100% 8/8 ")


def test_product_of_iterators_without_a_length_has_no_total(manual):
    from trainbar.contrib.itertools import product

    stream = io.StringIO()
    assert list(product(iter("ab"), iter("cd"), file=stream)) == list(itertools.product("ab", "cd"))
    assert last(stream).startswith("it: 4 ")


def test_the_other_itertools_have_their_sizes_as_totals(manual):
    from trainbar.contrib import itertools as titertools

    stream = io.StringIO()
    cases = [
        (titertools.chain("ab", [1, 2, 3], file=stream), itertools.chain("ab", [1, 2, 3]), 5),
        (titertools.permutations("abcd", 2, file=stream), itertools.permutations("abcd", 2), 12),
        (titertools.permutations("abc", file=stream), itertools.permutations("abc"), 6),
        (titertools.combinations("abcde", 3, file=stream), itertools.combinations("abcde", 3), 10),
        (titertools.combinations("ab", 3, file=stream), itertools.combinations("ab", 3), 0),
        (
            titertools.combinations_with_replacement("abc", 2, file=stream),
            itertools.combinations_with_replacement("abc", 2),
            6,
        ),
    ]
    for counted, plain, total in cases:
        assert counted.total == total
        assert list(counted) == list(plain)
        assert counted.n == total


def test_batched_counts_items_and_yields_tuples(manual):
    from trainbar.contrib.itertools import batched

    stream = io.StringIO()
    bar = batched(range(7), 3, file=stream)
    assert list(bar) == [(0, 1, 2), (3, 4, 5), (6,)]
    assert bar.total == 3 and bar.n == 3


# --- concurrent ----------------------------------------------------------------------------------


def test_thread_map_gives_map_results_twice_in_a_row(manual):
    """Two calls in one process: the same results as map(), each counted to its end."""
    from trainbar.contrib.concurrent import thread_map

    stream = io.StringIO()
    for _ in range(2):
        assert thread_map(operator.mul, range(50), range(50, 100), max_workers=4, file=stream) == list(
            map(operator.mul, range(50), range(50, 100))
        )
        assert last(stream).startswith("it: 100% 50/50 ")


def test_thread_map_counts_from_every_worker_thread_without_losing_a_step(manual):
    """Workers finish concurrently; every item is counted once."""
    from trainbar.contrib.concurrent import thread_map

    def work(x):
        return x * x

    stream = io.StringIO()
    assert thread_map(work, range(2000), max_workers=8, file=stream, desc="sq") == [x * x for x in range(2000)]
    assert last(stream).startswith("sq: 100% 2000/2000 ")


def test_thread_map_stops_at_the_shortest_iterable_and_knows_its_total(manual):
    from trainbar.contrib.concurrent import thread_map

    stream = io.StringIO()
    assert thread_map(operator.add, [1, 2, 3], iter([10, 20, 30, 40]), file=stream) == [11, 22, 33]
    assert last(stream).startswith("it: 100% 3/3 ")


def test_thread_map_passes_an_exception_on_and_interrupts_the_bar(manual):
    from trainbar.contrib.concurrent import thread_map

    stream = io.StringIO()
    with pytest.raises(ZeroDivisionError):
        thread_map(operator.truediv, [1, 2, 3], [1, 0, 1], max_workers=1, file=stream)
    assert last(stream).endswith("interrupted")


def test_thread_map_with_an_empty_iterable(manual):
    from trainbar.contrib.concurrent import thread_map

    assert thread_map(abs, [], file=io.StringIO()) == []


def test_process_map_gives_map_results_twice_in_a_row(manual):
    """The default start method, a builtin function, chunks of 4: results in order, every item
    counted (not every chunk), twice in one process."""
    from trainbar.contrib.concurrent import process_map

    stream = io.StringIO()
    for _ in range(2):
        got = process_map(pow, range(30), [3] * 30, max_workers=2, chunksize=4, file=stream, desc="cubes")
        assert got == [x**3 for x in range(30)]
        assert last(stream).startswith("cubes: 100% 30/30 ")


def test_process_map_under_spawn_sends_no_lock_to_the_workers(manual):
    """A spawned worker gets only picklable things: nothing of trainbar's own lock."""
    from trainbar.contrib.concurrent import process_map

    stream = io.StringIO()
    context = multiprocessing.get_context("spawn")
    assert process_map(math.factorial, range(8), max_workers=2, mp_context=context, file=stream) == [
        math.factorial(x) for x in range(8)
    ]
    assert last(stream).startswith("it: 100% 8/8 ")


def test_process_map_passes_a_worker_exception_on(manual):
    from trainbar.contrib.concurrent import process_map

    stream = io.StringIO()
    with pytest.raises(ValueError, match="math domain error"):
        process_map(math.sqrt, [4, -1, 9], max_workers=1, file=stream)
    assert last(stream).endswith("interrupted")


def test_process_map_warns_like_tqdm_about_many_items_in_chunks_of_one(manual):
    from trainbar.contrib.concurrent import process_map

    with pytest.warns(TqdmWarning, match="chunksize"):
        assert process_map(abs, range(-1001, 0), max_workers=2, file=io.StringIO()) == list(range(1001, 0, -1))


def test_thread_map_with_tqdm_itself_as_the_class(monkeypatch):
    """tqdm_class=tqdm.tqdm draws tqdm's own bar, its lock lent for the call and taken back."""
    real = pytest.importorskip("tqdm")
    from trainbar.contrib.concurrent import thread_map

    monkeypatch.setattr(real.tqdm, "monitor_interval", 0)
    stream = io.StringIO()
    had_lock = "_lock" in vars(real.tqdm)
    assert thread_map(abs, [-1, -2], tqdm_class=real.tqdm, file=stream) == [1, 2]
    assert "100%|" in stream.getvalue() and "2/2" in stream.getvalue()
    assert ("_lock" in vars(real.tqdm)) == had_lock


PROCESS_SCRIPT = """
    import io, sys
    import trainbar
    from trainbar.contrib.concurrent import process_map, thread_map

    def square(x):
        return x * x

    if __name__ == "__main__":
        for epoch in trainbar.tqdm(range(2), desc="epoch"):
            squares = [x * x for x in range(40)]
            assert process_map(square, range(40), max_workers=3, chunksize=5, desc="squares") == squares
            assert thread_map(square, range(40), max_workers=3, desc="threads") == squares
        print("results ok", flush=True)
"""


def test_process_map_in_a_job_with_live_bars_neither_deadlocks_nor_writes_control_codes(tmp_path):
    """A user's script: a function of its own, workers made while an outer bar is drawing, twice;
    its log file gets the results and plain lines only."""
    script = write_script(tmp_path / "job.py", PROCESS_SCRIPT)
    output = run_logged([python(), str(script)], tmp_path / "job.log", env=script_environment(), timeout=120)
    text = output.decode()
    assert "results ok" in text
    assert text.count("squares: 100% 40/40") == 2 and text.count("threads: 100% 40/40") == 2
    assert not CONTROL.search(text)


def test_process_map_on_a_terminal_with_a_live_region_returns():
    """On a real terminal (a live region redrawn by trainbar's threads while workers fork)."""
    result = run_in_pty(
        """
        import trainbar
        from trainbar.contrib.concurrent import process_map
        for epoch in trainbar.tqdm(range(2), desc="epoch"):
            assert process_map(pow, range(20), [2] * 20, max_workers=2, desc="pow") == [x * x for x in range(20)]
        print("results ok")
        """,
        timeout=60,
    )
    assert result.returncode == 0, result
    assert "results ok" in result.lines
    assert any(line.startswith("epoch: 100%") for line in result.lines), result


# --- logging -------------------------------------------------------------------------------------


@pytest.fixture
def logger():
    log = logging.getLogger(f"trainbar.test.contrib.{id(object())}")
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    log.handlers = []


def test_logging_redirect_sends_console_records_through_write_and_restores_handlers(logger, capsys):
    """Records of a console handler go through trainbar's write, with that handler's format,
    level and filters, exactly once each, among whole bar lines; files keep their handler."""
    from trainbar.contrib.logging import logging_redirect_tqdm

    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("LOG %(levelname)s %(message)s"))
    console.setLevel(logging.INFO)
    console.addFilter(lambda record: "secret" not in record.getMessage())
    log_file = io.StringIO()
    to_file = logging.StreamHandler(log_file)
    logger.handlers = [console, to_file]
    before = list(logger.handlers)

    with logging_redirect_tqdm(loggers=[logger]):
        assert to_file in logger.handlers and console not in logger.handlers
        for i in trainbar.tqdm(range(5), desc="steps", file=sys.stderr):
            logger.info("step %d", i)
            logger.debug("too detailed %d", i)
            logger.info("secret %d", i)
    trainbar.flush()

    assert logger.handlers == before
    err = capsys.readouterr().err
    assert not CONTROL.search(err)
    shown = err.splitlines()
    for i in range(5):
        assert shown.count(f"LOG INFO step {i}") == 1
    assert not [line for line in shown if "secret" in line or "too detailed" in line]
    assert all(line.startswith(("LOG INFO step ", "steps: ")) for line in shown), shown
    assert shown[-1].startswith("steps: 100% 5/5 ")
    assert len(log_file.getvalue().splitlines()) == 10  # the file handler saw every info record, secrets too


def test_records_go_through_trainbars_write_to_the_console_handlers_stream(logger, monkeypatch):
    """No tqdm_class given: each record is one call of trainbar's write, to the replaced handler's
    stream; a tqdm_class given gets the calls instead."""
    from trainbar.compat import tqdm as compat
    from trainbar.contrib.logging import logging_redirect_tqdm

    written = []
    monkeypatch.setattr(compat, "_write", lambda s, end="\n", file=None: written.append((s, end, file)))
    logger.handlers = [logging.StreamHandler(sys.stdout)]
    with logging_redirect_tqdm([logger]):
        logger.warning("one")
        logger.info("two")
    assert written == [("one", "\n", sys.stdout), ("two", "\n", sys.stdout)]

    class Other:
        seen: ClassVar[list] = []

        @classmethod
        def write(cls, s, file=None):
            cls.seen.append(s)

    with logging_redirect_tqdm([logger], tqdm_class=Other):
        logger.info("three")
    assert Other.seen == ["three"] and len(written) == 2


def test_logging_redirect_defaults_to_the_root_logger(capsys, monkeypatch):
    from trainbar.contrib.logging import logging_redirect_tqdm

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [logging.StreamHandler(sys.stdout)])
    monkeypatch.setattr(root, "level", logging.INFO)
    with logging_redirect_tqdm():
        logging.getLogger("some.module").warning("above the bars")
        (redirected,) = root.handlers
        assert type(redirected).__module__ == "trainbar.contrib.logging"
    trainbar.flush()
    assert capsys.readouterr().out == "above the bars\n"
    assert type(root.handlers[0]) is logging.StreamHandler


def test_logging_redirect_restores_the_handlers_after_an_exception(logger):
    from trainbar.contrib.logging import logging_redirect_tqdm

    console = logging.StreamHandler(sys.stderr)
    logger.handlers = [console]
    with pytest.raises(KeyError), logging_redirect_tqdm([logger]):
        raise KeyError("boom")
    assert logger.handlers == [console]


def test_logging_redirect_on_a_terminal_puts_records_above_the_live_region():
    """In a real terminal, each record is one whole line above the bar, and the bar is intact."""
    result = run_in_pty(
        """
        import logging
        import trainbar
        from trainbar.contrib.logging import logging_redirect_tqdm
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        log = logging.getLogger("job")
        with logging_redirect_tqdm():
            for i in trainbar.tqdm(range(4), desc="train"):
                trainbar.flush()  # the region is on the screen before the record
                log.info("checkpoint %d saved", i)
        print("finished")
        """,
        timeout=30,
    )
    assert result.returncode == 0, result
    shown = result.lines
    assert [line for line in shown if "checkpoint" in line] == [f"INFO checkpoint {i} saved" for i in range(4)], result
    assert any(line.startswith("train: 100%") for line in shown), result
    assert shown.index("INFO checkpoint 3 saved") < shown.index("finished")


def test_tqdm_logging_redirect_yields_the_bar(logger, capsys):
    from trainbar.contrib.logging import tqdm_logging_redirect

    logger.handlers = [logging.StreamHandler(sys.stderr)]
    with tqdm_logging_redirect(total=3, desc="work", file=sys.stderr, loggers=[logger]) as bar:
        assert isinstance(bar, tqdm)
        for _ in range(3):
            bar.update()
            logger.info("did one")
    trainbar.flush()
    err = capsys.readouterr().err.splitlines()
    assert err.count("did one") == 3 and err[-1].startswith("work: 100% 3/3 ")


def test_importing_contrib_pulls_in_nothing_heavy():
    code = (
        "import sys, trainbar.contrib, trainbar.contrib.itertools, trainbar.contrib.concurrent; "
        "print(sorted(m for m in ('numpy', 'pandas', 'tqdm', 'concurrent.futures', 'multiprocessing') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
