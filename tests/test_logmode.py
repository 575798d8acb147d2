"""Log-file output: a line at start, at most one per interval, one at close; never a control."""

import io

import trainbar


def lines(stream):
    return stream.getvalue().splitlines()


def test_start_periodic_and_close_lines(manual, monkeypatch):
    monkeypatch.setenv("TRAINBAR_LOG_INTERVAL", "10")
    clock, display = manual
    stream = io.StringIO()
    b = trainbar.bar(total=100, desc="train", file=stream)
    assert lines(stream) == ["train: 0% 0/100 elapsed 00:00 remaining ? ?it/s"]
    for _ in range(50):
        clock.advance(0.5)
        b.update(1, loss=0.25)
        display.tick()
    # 25 s of work at one line per 10 s: two periodic lines after the first one.
    assert len(lines(stream)) == 3
    assert lines(stream)[1].startswith("train: 20% 20/100 elapsed 00:10")
    b.close()
    assert lines(stream)[-1] == "train: 50% 50/100 elapsed 00:25 2.00it/s loss=0.2500 done"


def test_default_interval_is_thirty_seconds(manual):
    clock, display = manual
    stream = io.StringIO()
    b = trainbar.bar(total=10, file=stream)
    clock.advance(29.0)
    display.tick()
    assert len(lines(stream)) == 1
    clock.advance(1.0)
    display.tick()
    assert len(lines(stream)) == 2
    b.close()


def test_output_volume_does_not_depend_on_iteration_count(manual):
    clock, display = manual
    small, large = io.StringIO(), io.StringIO()
    for stream, count in ((small, 1_000), (large, 1_000_000)):
        b = trainbar.bar(total=count, file=stream)
        for _ in range(60):
            clock.advance(1.0)
            b.update(count // 60)
            display.tick()
        b.close()
    assert len(lines(small)) == len(lines(large)) == 4


def test_nested_bars_name_their_parents(manual):
    clock, display = manual
    stream = io.StringIO()
    for _epoch in trainbar.bar(range(2), desc="epoch", file=stream):
        for _step in trainbar.bar(range(3), desc="train", file=stream):
            clock.advance(0.1)
    inner = [line for line in lines(stream) if "train" in line]
    assert inner and all(line.startswith("epoch > train: ") for line in inner)
    assert lines(stream)[-1].startswith("epoch: 100% 2/2")


def test_no_carriage_returns_backspaces_or_escapes(manual):
    clock, display = manual
    stream = io.StringIO()
    b = trainbar.bar(total=5, desc="\x1b[31mred\r\b", unit="\x1b]8;;x\x07u", file=stream)
    b.update(2, **{"lo\x1bss": "\x1b[2Jv"})
    clock.advance(40)
    display.tick()
    trainbar.write("message", file=stream)
    b.close()
    text = stream.getvalue()
    assert not any(c in text for c in "\r\b\x1b\x07")
    assert "red" in text and "message\n" in text


def test_delay_hides_short_bars(manual):
    clock, display = manual
    stream = io.StringIO()
    quick = trainbar.bar(total=1, delay=5, file=stream)
    clock.advance(1)
    quick.close()
    assert stream.getvalue() == ""


def test_not_a_terminal_is_log_mode_by_default():
    stream = io.StringIO()
    for _ in trainbar.bar(range(3), file=stream):
        pass
    assert stream.getvalue().splitlines()[-1].endswith("done")
