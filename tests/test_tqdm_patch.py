"""``trainbar.patch_tqdm()``: tqdm's own classes, and names bound before the call, draw through trainbar.

Output to an ``io.StringIO`` is log mode: plain lines, so a real tqdm frame (``\\r``) there means
the patch did not take.
"""

import asyncio
import importlib
import io
import subprocess
import sys
import textwrap

import pytest

import trainbar
from trainbar.compat import patch as _patch

tqdm_module = pytest.importorskip("tqdm")
import tqdm.asyncio  # noqa: E402
import tqdm.auto  # noqa: E402
import tqdm.std  # noqa: E402

EARLY_AUTO = tqdm.auto.tqdm  # bound before any patch, as a library's `from tqdm.auto import tqdm`
EARLY_STD = tqdm.std.tqdm


@pytest.fixture
def patched():
    trainbar.patch_tqdm()
    yield
    trainbar.unpatch_tqdm()


def test_names_bound_before_the_call_draw_through_trainbar(manual, patched):
    for cls in (EARLY_AUTO, EARLY_STD, tqdm_module.tqdm):
        stream = io.StringIO()
        bar = cls(range(50), desc="early", file=stream)
        assert list(bar) == list(range(50))
        assert bar.n == 50
        text = stream.getvalue()
        assert "\r" not in text and "\x1b" not in text
        assert text.splitlines()[-1].startswith("early: 100% 50/50")


def test_a_subclass_defined_by_a_library_keeps_its_own_constructor(manual, patched):
    class HubTqdm(EARLY_AUTO):  # huggingface_hub's: it takes a `name` tqdm does not know
        def __init__(self, *args, name=None, **kwargs):
            self.name = name
            super().__init__(*args, **kwargs)

        def __delattr__(self, attr):
            try:
                super().__delattr__(attr)
            except AttributeError:
                if attr != "_lock":
                    raise

    stream = io.StringIO()
    with HubTqdm(total=10, desc="download", name="hub", file=stream) as bar:
        bar.update(4)
        bar.update(6)
    assert bar.name == "hub"
    assert stream.getvalue().splitlines()[-1].startswith("download: 100% 10/10")


def test_attributes_assigned_as_lightning_does_reach_the_bar(manual, patched):
    stream = io.StringIO()
    bar = EARLY_STD(desc="Epoch 0", total=None, file=stream, dynamic_ncols=True, smoothing=0)
    bar.reset(total=20)
    bar.initial = 0
    bar.n = 15  # Lightning's _update_n
    bar.refresh()
    bar.set_postfix({"loss": 0.5, "v_num": 1})
    assert (bar.n, bar.total, bar.disable) == (15, 20, False)
    bar.total = 30
    bar.close()
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("Epoch 0: 50% 15/30") and "loss=0.5" in last


def test_update_is_the_trainbar_bars_own_method(manual, patched):
    """The per-step call goes straight to trainbar's counter: nothing of ours in between."""
    bar = EARLY_STD(total=3, file=io.StringIO())
    assert bar.update == bar._trainbar.update
    bar.update()
    assert bar.n == 1
    bar.close()


def test_write_and_the_instances_registry(manual, patched):
    stream = io.StringIO()
    bar = EARLY_STD(total=2, file=stream)
    assert bar in EARLY_STD._instances
    EARLY_STD.write("a message", file=stream)
    bar.close()
    assert bar not in EARLY_STD._instances
    assert "a message" in stream.getvalue().splitlines()


def test_async_iteration_of_tqdm_asyncio(manual, patched):
    stream = io.StringIO()

    async def numbers():
        for i in range(5):
            yield i

    async def collect():
        return [i async for i in tqdm.asyncio.tqdm(numbers(), total=5, desc="async", file=stream)]

    assert asyncio.run(collect()) == [0, 1, 2, 3, 4]
    assert stream.getvalue().splitlines()[-1].startswith("async: 100% 5/5")


def test_unknown_arguments_still_raise_tqdms_error(manual, patched):
    """tqdm's own class, so `except tqdm.std.TqdmKeyError` in a library still catches it."""
    with pytest.raises(tqdm.std.TqdmKeyError, match="bogus"):
        EARLY_STD(total=1, bogus=True)


def test_idempotent_and_unpatch_puts_tqdm_back(manual):
    original_init, original_update = vars(EARLY_STD)["__init__"], vars(EARLY_STD)["update"]
    assert trainbar.patch_tqdm() and trainbar.patch_tqdm()
    assert vars(EARLY_STD)["__init__"] is not original_init
    trainbar.unpatch_tqdm()
    assert vars(EARLY_STD)["__init__"] is original_init and vars(EARLY_STD)["update"] is original_update
    assert "__init_subclass__" not in vars(EARLY_STD)
    real = io.StringIO()
    bar = EARLY_STD(range(3), file=real, mininterval=0)
    list(bar)
    assert "\r" in real.getvalue()  # tqdm's own frames again
    trainbar.unpatch_tqdm()  # twice is harmless


def test_a_bar_made_while_patched_keeps_working_after_unpatch(manual):
    """A library's bar still running when the patch is taken off (Lightning calls set_postfix
    every step) goes on through trainbar until it closes."""
    trainbar.patch_tqdm()
    stream = io.StringIO()
    bar = EARLY_AUTO(total=10, desc="running", file=stream)
    bar.update(4)
    trainbar.unpatch_tqdm()
    assert isinstance(bar, EARLY_AUTO)
    bar.update(6)
    bar.set_postfix(loss=0.5)
    bar.set_description("still running")
    assert bar.n == 10
    bar.close()
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("still running: 100% 10/10") and "loss=0.5" in last and "\r" not in stream.getvalue()


def test_a_bar_made_before_the_patch_keeps_working_as_tqdm_made_it(manual):
    """A tqdm bar already running (in another thread, in an earlier notebook cell) when the
    patch comes: it keeps tqdm's own behaviour to its end, iteration in progress included."""
    stream = io.StringIO()
    before = EARLY_STD(range(10), desc="before", file=stream, mininterval=0)
    walk = iter(before)
    assert [next(walk) for _ in range(3)] == [0, 1, 2]
    counted = EARLY_STD(total=5, desc="counted", file=stream, mininterval=0)
    counted.update(2)
    trainbar.patch_tqdm()
    try:
        assert list(walk) == list(range(3, 10))
        counted.update(3)
        counted.set_postfix(loss=1)
        counted.n = 5
        assert counted.n == 5 and counted.total == 5 and "counted" in str(counted)
        counted.close()
        assert before.n == 10
        assert "\r" in stream.getvalue()  # tqdm drew them, as before
        after = EARLY_STD(total=1, file=io.StringIO())
        assert "_trainbar" in after.__dict__  # while new bars are trainbar's
        after.close()
    finally:
        trainbar.unpatch_tqdm()


def test_a_tqdm_drawing_module_imported_after_the_patch_is_patched_as_defined(tmp_path):
    """tqdm.notebook and tqdm.rich defined after patch_tqdm() lose their widget and console."""
    script = textwrap.dedent(
        """
        import io, sys, trainbar
        trainbar.patch_tqdm()
        assert "tqdm.notebook" not in sys.modules
        from tqdm.notebook import tqdm_notebook, tnrange
        s = io.StringIO()
        bar = tqdm_notebook(total=4, desc="nb", file=s, display=True)  # no ipywidgets: tqdm raises here
        bar.update(4); bar.close()
        print(s.getvalue().splitlines()[-1])
        try:
            from tqdm.rich import tqdm_rich
        except ImportError:
            print("rich: absent")
        else:
            s = io.StringIO()
            for _ in tqdm_rich(range(3), desc="rich", file=s, options={}):
                pass
            print(s.getvalue().splitlines()[-1])
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("nb: 100% 4/4")
    assert lines[1] == "rich: absent" or lines[1].startswith("rich: 100% 3/3")


def test_import_trainbar_does_not_patch_or_import_tqdm():
    code = "import sys, trainbar; print('tqdm' in sys.modules, trainbar.compat.patch.patched())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_patch_without_tqdm_installed_says_so(monkeypatch):
    real_import = importlib.import_module

    def no_tqdm(name, *args):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args)

    monkeypatch.setattr(_patch.importlib, "import_module", no_tqdm)
    assert trainbar.patch_tqdm() is False
    assert not _patch.patched()
