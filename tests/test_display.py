"""The display's listener hook: other outputs follow bars without touching the hot path."""

import io
import warnings

import trainbar


class Recorder:
    interval = 0.5

    def __init__(self):
        self.events = []

    def on_open(self, bar, now):
        self.events.append(("open", bar.desc, now))

    def on_close(self, bar, now):
        self.events.append(("close", bar.desc, bar.n))

    def on_tick(self, now):
        self.events.append(("tick", now))

    def on_write(self, text):
        self.events.append(("write", text))


def test_listener_sees_open_tick_write_and_close(manual):
    clock, display = manual
    recorder = Recorder()
    display.subscribe(recorder)
    b = trainbar.bar(total=3, desc="train", file=io.StringIO())
    clock.advance(1.0)
    b.update(3)
    display.tick()
    trainbar.write("hello", file=io.StringIO())
    b.close()
    assert [e[0] for e in recorder.events] == ["open", "tick", "write", "close"]
    assert recorder.events[-1] == ("close", "train", 3)


def test_a_listener_subclass_gets_the_opening_snapshot_and_a_duck_typed_one_does_not(manual):
    from trainbar.runtime.listener import Listener

    clock, display = manual

    class Opening(Listener):
        def __init__(self):
            self.first = []

        def on_open(self, bar, now, first=None):
            self.first.append(first)

    typed, duck = Opening(), Recorder()
    display.subscribe(typed)
    display.subscribe(duck)  # its on_open takes (bar, now) only: it must not get first=
    b = trainbar.bar(total=5, initial=2, desc="typed", file=io.StringIO())
    display.tick()
    b.close()
    assert typed.first[0] is not None and typed.first[0].n == 2
    assert [e[0] for e in duck.events][:1] == ["open"]
    assert isinstance(typed, Listener) and not isinstance(object(), Listener)


def test_listener_follows_bars_even_when_display_is_off(manual, monkeypatch):
    monkeypatch.setenv("TRAINBAR_MODE", "off")
    clock, display = manual
    recorder = Recorder()
    display.subscribe(recorder)
    for _ in trainbar.bar(range(2), desc="quiet"):
        pass
    assert [e[0] for e in recorder.events] == ["open", "close"]


def test_failing_listener_is_removed_with_one_warning(manual):
    clock, display = manual

    class Broken:
        def on_tick(self, now):
            raise OSError("disk full")

    display.subscribe(Broken())
    b = trainbar.bar(total=2, file=io.StringIO())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            display.tick()
    b.update(2)
    b.close()
    assert len([w for w in caught if "Broken failed" in str(w.message)]) == 1
    assert b.n == 2


def test_ticker_interval_honours_the_fastest_listener():
    display = trainbar.runtime.runtime.Runtime(threaded=False)
    display.subscribe(Recorder())
    assert display._interval() == 0.5


def test_first_frame_is_not_held_back_by_a_listeners_ticker():
    """A ticker already sleeping the idle interval (for a listener) wakes for a new terminal bar."""
    import threading

    from conftest import FakeTerminal

    class Drawn(FakeTerminal):
        def __init__(self):
            super().__init__()
            self.drawn = threading.Event()

        def write(self, text):
            if "train" in text:
                self.drawn.set()
            return super().write(text)

    class Slow(Recorder):
        interval = 5.0

    trainbar.runtime.runtime.current().subscribe(Slow())  # the ticker starts, to sleep 5 s
    term = Drawn()
    b = trainbar.bar(total=3, desc="train", file=term)
    assert term.drawn.wait(2.0)  # without the wake-up, the first frame would come after 5 s
    b.close()
