"""``from trainbar import tqdm, trange``: tqdm's documented examples, run against the drop-in.

Output to an ``io.StringIO`` is log mode (plain lines, see render/plain.py), so the final
line of each example can be asserted exactly. Behaviours whose meaning should match tqdm are
also run side by side with the real tqdm.
"""

import inspect
import io
import re
from collections import OrderedDict

import pytest
from conftest import FakeTerminal
from hypothesis import given
from hypothesis import strategies as st

from trainbar import tqdm, trange


def lines(stream):
    return stream.getvalue().splitlines()


def last(stream):
    return lines(stream)[-1]


@pytest.fixture
def real(monkeypatch):
    """The real tqdm class, without its monitor thread."""
    module = pytest.importorskip("tqdm")
    monkeypatch.setattr(module.tqdm, "monitor_interval", 0)
    return module.tqdm


# --- README: iterable-based ----------------------------------------------------------------------


def test_iterable_loop_yields_every_item_and_closes_complete(manual):
    """``for i in tqdm(range(10000))`` yields every item and ends on a complete, done line."""
    stream = io.StringIO()
    pbar = tqdm(range(10000), file=stream)
    seen = [i for i in pbar]
    assert seen == list(range(10000))
    assert pbar.n == 10000
    assert last(stream).startswith("it: 100% 10000/10000 elapsed 00:00")
    assert last(stream).endswith(" done")


def test_trange_is_tqdm_over_range(manual):
    """``trange(*args)`` is ``tqdm(range(*args))``: same items, total from the range."""
    stream = io.StringIO()
    pbar = trange(3, 9, 2, desc="odd", file=stream)
    assert isinstance(pbar, tqdm)
    assert pbar.total == 3
    assert list(pbar) == [3, 5, 7]
    assert last(stream).startswith("odd: 100% 3/3")


def test_set_description_in_loop_names_the_final_line(manual):
    """README: ``set_description("Processing %s" % char)`` inside the loop shows on the line."""
    clock, display = manual
    stream = io.StringIO()
    pbar = tqdm(["a", "b", "c", "d"], file=stream)
    for char in pbar:
        clock.advance(1.0)
        pbar.set_description("Processing %s" % char)
    assert pbar.desc == "Processing d"
    assert last(stream) == "Processing d: 100% 4/4 elapsed 00:04 1.00it/s done"


# --- README: manual ------------------------------------------------------------------------------


def test_manual_updates_in_a_with_block(manual):
    """README: ``with tqdm(total=100) as pbar: pbar.update(10)`` ten times ends at 100/100."""
    clock, display = manual
    stream = io.StringIO()
    with tqdm(total=100, file=stream) as pbar:
        for _ in range(10):
            clock.advance(0.5)
            pbar.update(10)
            display.tick()
    assert pbar.n == 100
    assert last(stream) == "it: 100% 100/100 elapsed 00:05 20.0it/s done"


def test_manual_updates_then_close(manual):
    """README: ``pbar = tqdm(total=100) ... pbar.close()`` draws the final line once."""
    clock, display = manual
    stream = io.StringIO()
    pbar = tqdm(total=100, file=stream)
    for _ in range(10):
        clock.advance(0.25)
        pbar.update(10)
    pbar.close()
    pbar.close()
    assert lines(stream) == ["it: 0% 0/100 elapsed 00:00 remaining ? ?it/s", "it: 100% 100/100 elapsed 00:02 40.0it/s done"]


def test_exception_in_with_block_marks_the_bar_interrupted(manual):
    """Leaving the ``with`` block by an exception keeps the position and says interrupted."""
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with tqdm(total=10, file=stream) as pbar:
            pbar.update(4)
            raise KeyboardInterrupt
    assert last(stream).startswith("it: 40% 4/10")
    assert last(stream).endswith(" interrupted")


def test_bar_without_total_counts_items(manual):
    """``tqdm()`` with neither iterable nor total counts updates without a percentage."""
    stream = io.StringIO()
    with tqdm(file=stream, unit="img") as pbar:
        pbar.update(3)
    assert last(stream).startswith("img: 3 img elapsed 00:00")


# --- README: nested ------------------------------------------------------------------------------


def test_nested_tranges_each_complete_and_name_their_parents(manual):
    """README nested loops: inner bars (leave=False) complete every pass, named under the outer."""
    stream = io.StringIO()
    outer = trange(4, desc="1st loop", file=stream)
    inner_counts = []
    for _i in outer:
        middle = trange(5, desc="2nd loop", file=stream)
        for _j in middle:
            innermost = trange(3, desc="3rd loop", leave=False, file=stream)
            for _k in innermost:
                pass
            assert innermost.n == 3
        inner_counts.append(middle.n)
    assert inner_counts == [5, 5, 5, 5]
    assert outer.n == 4
    done = [line for line in lines(stream) if line.endswith(" done")]
    assert sum(line.startswith("1st loop > 2nd loop > 3rd loop: 100% 3/3") for line in done) == 20
    assert sum(line.startswith("1st loop > 2nd loop: 100% 5/5") for line in done) == 4
    assert done[-1].startswith("1st loop: 100% 4/4")


def test_leave_false_bar_leaves_nothing_on_a_terminal(manual, monkeypatch):
    """On a terminal a finished ``leave=False`` bar disappears; a ``leave=True`` one stays."""
    pyte = pytest.importorskip("pyte")
    monkeypatch.setenv("COLUMNS", "80")
    clock, display = manual
    terminal = FakeTerminal(80)
    for _i in trange(2, desc="1st loop", file=terminal):
        for _j in trange(3, desc="2nd loop", leave=False, file=terminal):
            clock.advance(0.2)
            display.tick()
    screen = pyte.Screen(80, 10)
    pyte.Stream(screen).feed(terminal.getvalue().replace("\n", "\r\n"))
    shown = [row.rstrip() for row in screen.display if row.strip()]
    assert len(shown) == 1
    assert shown[0].startswith("1st loop: 100%|") and "| 2/2 [00:01, " in shown[0]


def test_leave_is_an_assignable_attribute(manual):
    """``pbar.leave`` reads back what was passed and can be changed before close."""
    pbar = tqdm(total=3, leave=False, file=io.StringIO())
    assert pbar.leave is False
    pbar.leave = True
    assert pbar.leave is True


# --- README: tqdm.write --------------------------------------------------------------------------


def test_write_prints_whole_lines_while_a_bar_runs(manual):
    """README: ``tqdm.write("Done task %i" % i)`` prints whole lines and the bar goes on."""
    stream = io.StringIO()
    bar = trange(10, file=stream)
    for i in bar:
        if not (i % 3):
            tqdm.write("Done task %i" % i, file=stream)
    assert [line for line in lines(stream) if line.startswith("Done")] == [f"Done task {i}" for i in (0, 3, 6, 9)]
    assert last(stream).startswith("it: 100% 10/10")


def test_write_defaults_to_standard_output(manual, capsys):
    """``tqdm.write(s)`` with no file prints ``s`` and a newline on standard output."""
    tqdm.write("hello")
    tqdm.write("no newline", end="")
    assert capsys.readouterr().out == "hello\nno newline"


# --- README: description and additional stats ----------------------------------------------------


def test_set_postfix_with_ordered_dict_keeps_its_order(manual):
    """``set_postfix(OrderedDict(...))`` shows the metrics in the dict's order."""
    stream = io.StringIO()
    with tqdm(total=2, file=stream) as pbar:
        pbar.set_postfix(OrderedDict([("loss", 0.25), ("acc", 0.9)]))
        pbar.update(2)
    assert pbar.postfix == "loss=0.25, acc=0.9"
    assert last(stream) == "it: 100% 2/2 elapsed 00:00 ?it/s loss=0.25 acc=0.9 done"


def test_set_postfix_keywords_are_sorted_like_tqdm(manual, real):
    """README: ``set_postfix(loss=..., gen=..., str='h', lst=[1, 2])`` orders keys as tqdm does."""
    stream = io.StringIO()
    keys = []
    for cls in (tqdm, real):
        pbar = cls(total=10, file=io.StringIO() if cls is real else stream)
        pbar.set_postfix(loss=0.5, gen=42, str="h", lst=[1, 2])
        keys.append(re.findall(r"(?:^|, )(\w+)=", pbar.postfix))
        pbar.close()
    assert keys[0] == keys[1] == ["gen", "loss", "lst", "str"]
    assert last(stream).endswith("gen=42 loss=0.5 lst=[1, 2] str=h done")


def test_readme_trange_with_description_and_postfix(manual):
    """README: ``with trange(10) as t`` setting ``GEN %i`` and a postfix each step ends on both."""
    clock, display = manual
    stream = io.StringIO()
    with trange(10, file=stream) as t:
        for i in t:
            t.set_description("GEN %i" % i)
            t.set_postfix(loss=0.125 * i, gen=100 + i, str="h", lst=[1, 2])
            clock.advance(0.5)
    assert last(stream) == "GEN 9: 100% 10/10 elapsed 00:05 2.00it/s gen=109 loss=1.125 lst=[1, 2] str=h done"


def test_set_postfix_refresh_is_an_option_not_a_metric(manual):
    """``refresh=`` on every setter, by keyword or position, is an option and never a metric."""
    pbar = tqdm(total=3, file=io.StringIO())
    pbar.set_postfix(refresh=False, loss=1)
    pbar.set_postfix_str("s", refresh=False)
    pbar.set_description("d", refresh=False)
    pbar.set_description_str("d", refresh=False)
    assert pbar.postfix == "s"
    pbar.set_postfix({"loss": 1}, False)
    assert pbar.postfix == "loss=1"


def test_set_description_str_keeps_the_text_as_given(manual):
    """``set_description_str`` keeps the text as given in ``desc`` and ``format_dict``."""
    stream = io.StringIO()
    pbar = tqdm(total=2, file=stream)
    pbar.set_description_str("epoch 3")
    pbar.update(2)
    pbar.close()
    assert (pbar.desc, pbar.format_dict["prefix"]) == ("epoch 3", "epoch 3")
    assert last(stream).startswith("epoch 3: 100% 2/2")


def test_set_postfix_replaces_the_previous_postfix(manual, real):
    """Each ``set_postfix`` call replaces the whole postfix, as in tqdm."""
    postfixes = []
    for cls in (tqdm, real):
        pbar = cls(total=10, file=io.StringIO())
        pbar.set_postfix(loss=1)
        pbar.set_postfix({"acc": 2})
        postfixes.append(pbar.postfix)
        pbar.close()
    assert postfixes == ["acc=2", "acc=2"]


def test_set_postfix_str_is_shown_verbatim(manual, real):
    """``set_postfix_str(s)`` shows ``s`` as is, and ``pbar.postfix`` reads it back like tqdm."""
    stream = io.StringIO()
    text = "lr 1e-3 (warmup)"
    postfixes = []
    for cls in (tqdm, real):
        pbar = cls(total=10, file=io.StringIO() if cls is real else stream)
        pbar.set_postfix_str(text)
        postfixes.append(pbar.postfix)
        pbar.close()
    assert postfixes == [text, text]
    assert last(stream).endswith(f" {text} done")


def test_postfix_argument_dict_is_set_postfix(manual):
    """``postfix={"loss": 0.5}`` at construction shows like ``set_postfix``."""
    pbar = tqdm(total=1, postfix={"loss": 0.5}, file=io.StringIO())
    assert pbar.postfix == "loss=0.5"


def test_readme_postfix_list_with_bar_format(manual, real):
    """README: ``postfix=["Batch", dict(value=0)]`` mutated in place fills a custom bar_format."""
    shown = []
    for cls in (tqdm, real):
        stream = io.StringIO()
        with cls(
            total=10, bar_format="{postfix[0]} {postfix[1][value]:>8.2g}", postfix=["Batch", dict(value=0)], file=stream
        ) as t:
            for i in range(10):
                t.postfix[1]["value"] = i / 2
                t.update()
            shown.append(str(t))
    assert shown[0] == shown[1] == "Batch      4.5"


def test_raw_postfix_object_is_read_when_drawn(manual):
    """A postfix object given to the constructor shows its current contents in the log line."""
    stream = io.StringIO()
    with tqdm(total=1, postfix=["Batch", dict(value=0)], file=stream) as t:
        t.postfix[1]["value"] = 7
        t.update()
    assert last(stream).endswith("['Batch', {'value': 7}] done")


def test_raw_postfix_that_does_not_fit_the_bar_format_falls_back(manual):
    """A bar_format indexing past a raw postfix never raises: the standard line is drawn."""
    t = tqdm(total=4, bar_format="{postfix[1][value]:>8.2g}", postfix=["only one"], file=io.StringIO())
    t.update(1)
    assert "| 1/4 [" in str(t)
    t.close()


def test_postfix_array_is_shown_not_tested_for_truth(manual):
    """A numpy array as postfix (whose truth value raises) is drawn like any other object."""
    np = pytest.importorskip("numpy")
    stream = io.StringIO()
    with tqdm(total=1, postfix=np.array([1.5, 2.0]), file=stream) as t:
        t.update()
        assert str(t).endswith("[1.5 2. ]")
    assert last(stream).endswith("[1.5 2. ] done")


# --- README: bar_format --------------------------------------------------------------------------


def test_bar_format_l_bar_bar_n_fmt_total_fmt(manual, real):
    """``bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}"``: same text as tqdm around the graphic."""
    fmt = "{l_bar}{bar}| {n_fmt}/{total_fmt}"
    texts = []
    for cls in (tqdm, real):
        pbar = cls(total=100, desc="dl", ncols=40, bar_format=fmt, file=io.StringIO())
        pbar.update(50)
        texts.append(str(pbar))
        pbar.close()
    ours, theirs = texts
    assert len(ours) == len(theirs) == 40
    assert ours.startswith("dl:  50%|") and theirs.startswith("dl:  50%|")
    assert ours.endswith("| 50/100") and theirs.endswith("| 50/100")
    graphic = ours[len("dl:  50%|") : -len("| 50/100")]
    assert graphic == "█" * 11 + "▌" + " " * 11


def test_bar_format_with_every_default_field(manual):
    """The documented default spelled out (desc, percentage, elapsed, remaining, rate, postfix)."""
    clock, display = manual
    fmt = "{desc}: {percentage:3.0f}%|{bar:10}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
    pbar = tqdm(total=100, desc="train", bar_format=fmt, file=io.StringIO())
    clock.advance(10.0)
    pbar.update(50)
    display.tick()
    pbar.set_postfix(loss=0.5)
    assert str(pbar) == "train:  50%|█████     | 50/100 [00:10<00:10, 5.00it/s, loss=0.5]"


# --- README: hooks and callbacks (downloads) -----------------------------------------------------


class TqdmUpTo(tqdm):
    """README: alternative tqdm with an ``update_to`` for ``urlretrieve``'s reporthook."""

    def update_to(self, b=1, bsize=1, tsize=None):
        if tsize is not None:
            self.total = tsize
        return self.update(b * bsize - self.n)


def test_download_hook_subclass_counts_bytes_in_binary_units(manual):
    """README download example: unit='B', unit_scale=True, unit_divisor=1024 via a subclass."""
    clock, display = manual
    stream = io.StringIO()
    with TqdmUpTo(unit="B", unit_scale=True, unit_divisor=1024, miniters=1, desc="file.zip", file=stream) as t:
        for block in range(1, 11):
            clock.advance(1.0)
            t.update_to(block, 1024, 10 * 1024)
            display.tick()
    assert (t.n, t.total) == (10 * 1024, 10 * 1024)
    assert last(stream) == "file.zip: 100% 10.0k/10.0k elapsed 00:10 1.00kB/s done"


def test_wrapattr_counts_bytes_written(manual):
    """README: ``tqdm.wrapattr(stream, "write", total=...)`` counts every byte written."""
    stream = io.StringIO()
    sink = io.BytesIO()
    with tqdm.wrapattr(sink, "write", total=4096, desc="upload", file=stream) as fout:
        for _ in range(4):
            fout.write(b"x" * 1024)
    assert sink.getvalue() == b"x" * 4096
    assert last(stream).startswith("upload: 100% 4.00k/4.00k")


def test_wrapattr_counts_bytes_read(manual):
    """``tqdm.wrapattr(stream, "read")`` counts what each read returns, other methods pass through."""
    stream = io.StringIO()
    with tqdm.wrapattr(io.BytesIO(b"y" * 3000), "read", total=3000, bytes=False, file=stream) as fin:
        assert fin.read(1000) == b"y" * 1000
        fin.seek(2000)
        assert fin.read() == b"y" * 1000
    assert last(stream).startswith("it: 66% 2000/3000")


def test_unit_scale_uses_si_prefixes(manual):
    """``unit_scale=True`` shows ``1.00k``-style counts and an SI-scaled rate."""
    clock, display = manual
    stream = io.StringIO()
    with tqdm(total=2000, unit_scale=True, file=stream) as pbar:
        clock.advance(2.0)
        pbar.update(1000)
        display.tick()
    assert last(stream) == "it: 50% 1.00k/2.00k elapsed 00:02 500it/s done"


def test_unit_divisor_1024_scales_bytes(manual):
    """``unit='B', unit_scale=True, unit_divisor=1024``: 1.5 MiB of 3 MiB reads ``1.50M/3.00M``."""
    clock, display = manual
    stream = io.StringIO()
    with tqdm(total=3 * 1024**2, unit="B", unit_scale=True, unit_divisor=1024, file=stream) as pbar:
        clock.advance(1.0)
        pbar.update(1024**2 * 3 // 2)
        display.tick()
    assert last(stream) == "B: 50% 1.50M/3.00M elapsed 00:01 1.50MB/s done"


def test_numeric_unit_scale_multiplies_what_is_shown_like_tqdm(manual, real):
    """``unit_scale=2`` counts raw items (n, total) but shows them doubled, as tqdm does."""
    stream = io.StringIO()
    counts, texts = [], []
    for cls in (tqdm, real):
        pbar = cls(range(10), unit_scale=2, file=io.StringIO() if cls is real else stream)
        list(pbar)
        counts.append((pbar.n, pbar.total))
        texts.append(str(pbar))
    assert counts == [(10, 10), (10, 10)]
    assert all(text.startswith("100%|") and "| 20/20 [" in text for text in texts)
    assert last(stream).startswith("it: 100% 20/20")


# --- initial, reset, n, total --------------------------------------------------------------------


def test_initial_starts_the_count_and_is_left_out_of_the_rate(manual):
    """``initial=50``: the bar starts at 50/100 and the rate counts only what was done since."""
    clock, display = manual
    stream = io.StringIO()
    pbar = tqdm(total=100, initial=50, file=stream)
    assert lines(stream) == ["it: 50% 50/100 elapsed 00:00 remaining ? ?it/s"]
    clock.advance(10.0)
    pbar.update(10)
    display.tick()
    assert pbar.format_dict["rate"] == pytest.approx(1.0)
    assert pbar.format_dict["initial"] == 50
    pbar.close()
    assert last(stream) == "it: 60% 60/100 elapsed 00:10 1.00it/s done"


def test_initial_with_an_iterable_adds_to_the_items(manual, real):
    """``tqdm(range(10), initial=5)`` ends at n=15, as tqdm does."""
    finals = []
    for cls in (tqdm, real):
        pbar = cls(range(10), initial=5, file=io.StringIO())
        assert list(pbar) == list(range(10))
        finals.append(pbar.n)
    assert finals == [15, 15]


def test_reset_starts_over_with_a_new_total(manual):
    """``reset(total=...)``: n back to 0, the new total, the clock restarted."""
    clock, display = manual
    stream = io.StringIO()
    pbar = tqdm(total=10, file=stream)
    clock.advance(3.0)
    pbar.update(5)
    pbar.reset(total=20)
    assert (pbar.n, pbar.total, pbar.format_dict["elapsed"]) == (0, 20, 0.0)
    clock.advance(2.0)
    pbar.update(4)
    pbar.close()
    assert last(stream) == "it: 20% 4/20 elapsed 00:02 2.00it/s done"


def test_reset_semantics_match_tqdm(manual, real):
    """``reset()`` goes to 0 even after ``initial``; a total is kept, replaced, or inf = unknown."""
    states = []
    for cls in (tqdm, real):
        pbar = cls(total=10, initial=3, file=io.StringIO())
        pbar.update(2)
        pbar.reset()
        state = [(pbar.n, pbar.total)]
        pbar.update(1)
        pbar.reset(total=float("inf"))
        state.append((pbar.n, pbar.total))
        pbar.reset(total=7)
        state.append((pbar.n, pbar.total))
        states.append(state)
        pbar.close()
    assert states[0] == states[1] == [(0, 10), (0, None), (0, 7)]


def test_reset_reuses_an_inner_bar(manual):
    """FAQ idiom: one ``leave=False`` inner bar reset per outer step counts each pass afresh."""
    stream = io.StringIO()
    with tqdm(total=3, desc="epoch", file=stream) as outer, tqdm(total=4, leave=False, file=stream) as inner:
        for _ in range(3):
            inner.reset()
            for _ in range(4):
                inner.update()
            outer.update()
            assert inner.n == 4
    assert outer.n == 3


def test_assigning_n_then_refresh_shows_the_new_position(manual, real):
    """``pbar.n = 42; pbar.refresh()`` moves the bar to 42, as in tqdm."""
    stream = io.StringIO()
    finals = []
    for cls in (tqdm, real):
        pbar = cls(total=100, file=io.StringIO() if cls is real else stream)
        pbar.update(10)
        pbar.n = 42
        pbar.refresh()
        finals.append(pbar.n)
        pbar.close()
    assert finals == [42, 42]
    assert last(stream).startswith("it: 42% 42/100")


def test_assigning_total_changes_the_shown_total(manual):
    """``pbar.total = 50`` after the fact is shown, and ``float("inf")`` means unknown."""
    stream = io.StringIO()
    pbar = tqdm(total=10, file=stream)
    pbar.total = 50
    pbar.update(25)
    pbar.close()
    assert last(stream).startswith("it: 50% 25/50")
    pbar.total = float("inf")
    assert pbar.total is None


def test_assigning_a_bad_n_is_refused_at_the_call(manual):
    """``pbar.n = "5"`` fails where it is written, not later in the display thread."""
    pbar = tqdm(total=10, file=io.StringIO())
    with pytest.raises(TypeError, match="n must be a number"):
        pbar.n = "5"


def test_refresh_and_friends_only_mark_the_bar(manual):
    """``refresh``, ``clear``, ``display``, ``unpause``, ``moveto`` are accepted and change nothing."""
    stream = io.StringIO()
    pbar = tqdm(total=10, file=stream)
    pbar.update(3)
    before = stream.getvalue()
    pbar.refresh()
    pbar.refresh(nolock=True, lock_args=(False,))
    pbar.clear()
    pbar.display("message", pos=0)
    pbar.unpause()
    pbar.moveto(2)
    pbar.set_description("x", refresh=True)
    assert pbar.n == 3 and stream.getvalue() == before


# --- format_dict, str, len, bool -----------------------------------------------------------------


def test_format_dict_has_tqdm_keys_and_live_values(manual, real):
    """``format_dict`` has tqdm's keys; n, total, elapsed, rate, prefix and postfix are current."""
    clock, display = manual
    pbar = tqdm(total=100, desc="train", unit="img", file=io.StringIO())
    pbar.set_postfix(loss=0.5)
    clock.advance(1.0)
    pbar.update(10)
    display.tick()
    clock.advance(1.0)
    pbar.update(10)
    display.tick()
    d = pbar.format_dict
    reference = real(total=100, file=io.StringIO())
    assert set(d) == set(reference.format_dict)
    reference.close()
    assert (d["n"], d["total"], d["prefix"], d["unit"], d["postfix"]) == (20, 100, "train", "img", "loss=0.5")
    assert d["elapsed"] == pytest.approx(2.0)
    assert d["rate"] == pytest.approx(10.0)


def test_str_is_format_meter_of_format_dict(manual):
    """``str(pbar)`` is ``tqdm.format_meter(**pbar.format_dict)``, as in tqdm."""
    clock, display = manual
    pbar = tqdm(total=100, desc="train", file=io.StringIO())
    clock.advance(4.0)
    pbar.update(40)
    assert str(pbar) == tqdm.format_meter(**pbar.format_dict)
    assert "train:  40%|" in str(pbar) and "| 40/100 [00:04<00:06, 10.0it/s]" in str(pbar)


class Rows:
    """An array-like with a ``shape`` and no ``len`` (as tqdm checks ``shape`` first)."""

    shape = (6, 2)

    def __iter__(self):
        return iter(range(6))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: (["a", "b", "c", "d"], {}), id="list"),
        pytest.param(lambda: (range(7), {}), id="range"),
        pytest.param(lambda: (None, {"total": 7}), id="manual-total"),
        pytest.param(lambda: (iter([1, 2, 3]), {}), id="iterator-length-hint"),
        pytest.param(lambda: ((x for x in range(3)), {"total": 5}), id="generator-with-total"),
        pytest.param(lambda: (Rows(), {}), id="shape"),
        pytest.param(lambda: ([1, 2], {"total": 9}), id="len-beats-total"),
    ],
)
def test_len_matches_tqdm(manual, real, make):
    """``len(pbar)`` follows tqdm: the iterable's shape, len or length hint, else the total."""
    lengths = []
    for cls in (tqdm, real):
        iterable, kwargs = make()
        pbar = cls(iterable, file=io.StringIO(), **kwargs)
        lengths.append(len(pbar))
        pbar.close()
    assert lengths[0] == lengths[1]


def test_len_of_a_numpy_array_is_its_first_dimension(manual):
    """``tqdm(np.zeros((6, 2)))`` has length and total 6, rows being the items."""
    np = pytest.importorskip("numpy")
    pbar = tqdm(np.zeros((6, 2)), file=io.StringIO())
    assert (len(pbar), pbar.total, len(list(pbar))) == (6, 6, 6)


@pytest.mark.parametrize(
    "iterable, kwargs",
    [([1, 2], {}), ([], {}), (None, {"total": 0}), (None, {"total": 3}), (iter([]), {}), ((), {"total": 2})],
)
def test_bool_matches_tqdm(manual, real, iterable, kwargs):
    """``bool(pbar)`` is the total's truth if there is one, else the iterable's, as in tqdm."""
    values = []
    for cls in (tqdm, real):
        pbar = cls(iterable, file=io.StringIO(), **kwargs)
        values.append(bool(pbar))
        pbar.close()
    assert values[0] == values[1]


def test_bool_without_iterable_or_total_raises_like_tqdm(manual, real):
    """``bool(tqdm())`` is undefined in tqdm and raises the same TypeError here."""
    for cls in (tqdm, real):
        pbar = cls(file=io.StringIO())
        with pytest.raises(TypeError, match="bool"):
            bool(pbar)
        pbar.close()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: (range(12), {}), id="range"),
        pytest.param(lambda: ("abc", {}), id="str"),
        pytest.param(lambda: ({"a": 1, "b": 2}, {}), id="dict"),
        pytest.param(lambda: ((x for x in range(4)), {}), id="generator"),
        pytest.param(lambda: ((x for x in range(4)), {"total": 4}), id="generator-with-total"),
        pytest.param(lambda: (range(5), {"total": 99}), id="total-beats-len"),
        pytest.param(lambda: (None, {"total": 8.5}), id="float-total"),
    ],
)
def test_total_from_len_matches_tqdm(manual, real, make):
    """The total comes from ``len(iterable)`` when not given, else from the argument, as in tqdm."""
    totals = []
    for cls in (tqdm, real):
        iterable, kwargs = make()
        pbar = cls(iterable, file=io.StringIO(), **kwargs)
        totals.append(pbar.total)
        pbar.close()
    assert totals[0] == totals[1]


# --- counting semantics side by side -------------------------------------------------------------


@pytest.mark.parametrize("size, stop", [(10, 5), (10_000, 5_000), (100_000, 99_999), (10, 0)])
def test_final_n_after_break_matches_tqdm(manual, real, size, stop):
    """Breaking out of the loop leaves n at the items completed before the break, as in tqdm."""
    finals = []
    for cls in (tqdm, real):
        pbar = cls(range(size), file=io.StringIO())
        for i in pbar:
            if i == stop:
                break
        finals.append(pbar.n)
        pbar.close()
    assert finals == [stop, stop]


def test_break_from_an_iterator_without_length_matches_tqdm(manual, real):
    """A generator abandoned mid-way counts the same items as tqdm."""
    finals = []
    for cls in (tqdm, real):
        pbar = cls((x for x in range(1000)), file=io.StringIO())
        for x in pbar:
            if x == 700:
                break
        finals.append(pbar.n)
        pbar.close()
    assert finals == [700, 700]


def test_negative_and_float_updates_match_tqdm(manual, real):
    """``update(-1)`` steps back and ``update(0.5)`` adds a fraction, as in tqdm."""
    finals = []
    for cls in (tqdm, real):
        pbar = cls(total=10, file=io.StringIO())
        pbar.update(5)
        pbar.update(-1)
        pbar.update(0.5)
        finals.append(pbar.n)
        pbar.close()
    assert finals == [4.5, 4.5]


def test_update_with_no_argument_counts_one(manual, real):
    """``update()`` adds one, as in tqdm."""
    finals = []
    for cls in (tqdm, real):
        pbar = cls(total=10, file=io.StringIO())
        pbar.update()
        pbar.update()
        finals.append(pbar.n)
        pbar.close()
    assert finals == [2, 2]


# --- class-level helpers -------------------------------------------------------------------------


@given(st.floats(min_value=-1e20, max_value=1e20), st.sampled_from([1000, 1024]))
def test_format_sizeof_matches_tqdm(value, divisor):
    """``tqdm.format_sizeof`` gives tqdm's text for any magnitude and either divisor."""
    real = pytest.importorskip("tqdm").tqdm
    value += 0.0  # tqdm keeps the sign of -0.0; a negative zero is not a size
    assert tqdm.format_sizeof(value, "B", divisor) == real.format_sizeof(value, "B", divisor)


def test_format_sizeof_examples():
    """``format_sizeof`` spells out SI and binary prefixes: ``1.00k``, ``1.00MB``, ``999``."""
    assert tqdm.format_sizeof(1000) == "1.00k"
    assert tqdm.format_sizeof(999) == "999"
    assert tqdm.format_sizeof(1024**2, "B", 1024) == "1.00MB"
    assert tqdm.format_sizeof(1536, "iB", 1024) == "1.50kiB"


@given(st.floats(min_value=0, max_value=86_399.99))
def test_format_interval_matches_tqdm_below_a_day(seconds):
    """``tqdm.format_interval`` gives tqdm's ``mm:ss`` / ``h:mm:ss`` for anything under a day."""
    real = pytest.importorskip("tqdm").tqdm
    assert tqdm.format_interval(seconds) == real.format_interval(seconds)


def test_format_interval_spells_out_days():
    """From one day on, days are written out (tqdm would print ``25:00:00``): a deliberate difference."""
    assert tqdm.format_interval(65) == "01:05"
    assert tqdm.format_interval(3725) == "1:02:05"
    assert tqdm.format_interval(90_000) == "1d 01:00:00"


def test_format_meter_without_total_matches_tqdm_when_scaled(real):
    """``format_meter`` for an SI-scaled count with no total is tqdm's text exactly."""
    for args in ((5000, None, 10), (12, None, 3.0), (2_500_000, None, 100.0)):
        assert tqdm.format_meter(*args, unit_scale=True) == real.format_meter(*args, unit_scale=True)


def test_format_meter_rate_keeps_three_significant_digits(real):
    """Unscaled rates read ``500it/s`` where tqdm pads to ``500.00it/s``: a deliberate difference."""
    assert tqdm.format_meter(5000, None, 10) == "5000it [00:10, 500it/s]"
    assert real.format_meter(5000, None, 10) == "5000it [00:10, 500.00it/s]"


def test_format_meter_with_total_prefix_and_postfix():
    """``format_meter`` draws percentage, bar, count, times, rate, prefix and postfix."""
    line = tqdm.format_meter(50, 100, 10, ncols=80, prefix="epoch 1", postfix="loss=0.5")
    assert line.startswith("epoch 1:  50%|")
    assert "| 50/100 [00:10<00:10, 5.00it/s]" in line
    assert line.endswith("loss=0.5")
    assert len(line) <= 80


def test_format_meter_with_bar_format():
    """``format_meter`` honours a ``bar_format`` with a sized ``{bar}``."""
    assert tqdm.format_meter(3, 4, 2.0, bar_format="{n_fmt}/{total_fmt}|{bar:8}|") == "3/4|██████  |"


def test_lock_helpers_support_the_multiprocessing_idiom():
    """README: ``Pool(initializer=tqdm.set_lock, initargs=(tqdm.get_lock(),))`` works."""
    lock = tqdm.get_lock()
    tqdm.set_lock(lock)
    assert tqdm.get_lock() is lock
    with tqdm.get_lock():
        pass
    with tqdm.external_write_mode():
        pass


# --- arguments -----------------------------------------------------------------------------------

STREAM = object()  # stands for the test's own StringIO

# Every tqdm constructor argument, each with one or more values a script plausibly passes.
PLAUSIBLE = {
    "iterable": [range(5)],
    "desc": ["train", None, "", "épоch ✓ 训练"],
    "total": [5, 5.0, 100, None, float("inf")],
    "leave": [False, None, True],
    "file": [STREAM, None],
    "ncols": [60, 0, None, 5],
    "mininterval": [0.5, 0],
    "maxinterval": [5.0, 0],
    "miniters": [10, 0, None],
    "ascii": [True, False, None, " 123456789#", " #"],
    "disable": [False, None],
    "unit": ["img", "B", ""],
    "unit_scale": [True, False, 2, 0.5, 1],
    "dynamic_ncols": [True],
    "smoothing": [0.1, 0, 1],
    "bar_format": ["{l_bar}{bar}{r_bar}", "{desc}{percentage:3.0f}%|{bar:10}{r_bar}", "{n_fmt}", "{unknown}", "{"],
    "initial": [2, 0, 1.5],
    "position": [1, 0, None],
    "postfix": [{"loss": 1.0}, "text", ["Batch", {"value": 0}], 3],
    "unit_divisor": [1024, 1000],
    "write_bytes": [True, False, None],
    "lock_args": [(False,), None],
    "nrows": [20, None],
    "colour": ["green", "#00ff00", None, "no-such-colour"],
    "delay": [0.5, 0, None],
    "gui": [False, True],
}
CASES = [pytest.param(name, value, id=f"{name}={value!r}") for name, values in PLAUSIBLE.items() for value in values]


def test_constructor_names_every_tqdm_argument_in_tqdm_order(real):
    """Every tqdm constructor argument is a named parameter here, positional order included."""
    theirs = [name for name in inspect.signature(real.__init__).parameters if name not in ("self", "kwargs")]
    ours = [name for name in inspect.signature(tqdm.__init__).parameters if name not in ("self", "kwargs")]
    assert ours == theirs
    assert set(theirs) <= set(PLAUSIBLE)


@pytest.mark.parametrize("name, value", CASES)
def test_every_tqdm_argument_is_accepted(manual, capsys, name, value):
    """Each tqdm argument with a plausible value: items, count, ``str`` and close all work."""
    stream = io.StringIO()
    kwargs = {"file": stream}
    if name != "iterable":
        kwargs[name] = stream if value is STREAM else value
    pbar = tqdm(range(5), **kwargs)
    assert list(pbar) == list(range(5))
    pbar.update(0)
    assert pbar.n == 5 + (value if name == "initial" else 0)
    assert isinstance(str(pbar), str)
    pbar.close()


def test_positional_arguments_follow_tqdm(manual):
    """``tqdm(iterable, desc, total, leave, file)`` positionally, as tqdm's signature allows."""
    stream = io.StringIO()
    pbar = tqdm(iter("abc"), "letters", 3, True, stream)
    assert list(pbar) == ["a", "b", "c"]
    assert last(stream).startswith("letters: 100% 3/3")


def test_unknown_keyword_arguments_are_refused_as_tqdm_refuses_them(manual):
    """tqdm raises TqdmKeyError for them: a typo must not pass."""
    from trainbar.compat.tqdm import TqdmKeyError

    with pytest.raises(TqdmKeyError, match="leave_on_close"):
        tqdm(range(3), leave_on_close=True, file=io.StringIO())


def test_nested_is_refused_with_tqdms_deprecation_written_to_the_file(manual, real):
    """``nested=True`` raises TqdmDeprecationWarning, its message written to the bar's file, as in
    tqdm (tqdm's suite: test_deprecated_nested); not a TqdmKeyError, even beside a typo."""
    from trainbar.compat.tqdm import TqdmDeprecationWarning

    ours, theirs = io.StringIO(), io.StringIO()
    with pytest.raises(TqdmDeprecationWarning):
        tqdm(total=2, nested=True, leave_on_close=True, file=ours)
    with pytest.raises(Warning):
        real(total=2, nested=True, leave_on_close=True, file=theirs)
    assert ours.getvalue() == theirs.getvalue()
    assert "`nested` is deprecated and automated.\nUse `position` instead" in ours.getvalue()


def test_disable_true_yields_everything_and_writes_nothing(manual):
    """``disable=True`` still yields every item and writes nothing at all."""
    stream = io.StringIO()
    pbar = tqdm(range(4), disable=True, file=stream)
    assert list(pbar) == [0, 1, 2, 3]
    pbar.set_postfix(loss=1)
    pbar.close()
    assert pbar.disable is True and stream.getvalue() == ""


def test_delay_hides_a_bar_that_finishes_in_time(manual):
    """``delay=5``: a bar closed after 1 s never shows, one still running at 5 s does, as in tqdm."""
    clock, display = manual
    quick, slow = io.StringIO(), io.StringIO()
    with tqdm(total=10, delay=5, file=quick) as pbar:
        clock.advance(1.0)
        pbar.update(10)
    assert quick.getvalue() == ""
    with tqdm(total=10, delay=5, file=slow) as pbar:
        clock.advance(6.0)
        pbar.update(5)
        display.tick()
        assert lines(slow)[0].startswith("it: 50% 5/10 elapsed 00:06")
    assert quick.getvalue() == ""


def test_disable_none_means_automatic_log_lines(manual):
    """``disable=None`` means "decide for me": a log file still gets plain lines (tqdm: nothing)."""
    stream = io.StringIO()
    for _ in tqdm(range(3), disable=None, file=stream):
        pass
    assert last(stream).startswith("it: 100% 3/3")
