"""Rate and ETA: the estimator on scripted step times, every clock reading given explicitly."""

import io
import itertools
import math
import random
import re

import pytest

import trainbar
from trainbar.core.rate import RateEstimator


class Run:
    """Drives one estimator the way the display does: a sample every 0.1 s of fake time."""

    def __init__(self, total=None) -> None:
        self.t = 0.0
        self.n = 0
        self.total = total
        self.est = RateEstimator(0.0, 0)

    def wait(self, seconds: float) -> None:
        end = self.t + seconds
        while self.t + 0.1 < end - 1e-9:
            self.t += 0.1
            self.est.observe(self.t, self.n)
        self.t = end

    def step(self, seconds: float, items: int = 1) -> None:
        self.wait(seconds)
        self.n += items
        self.est.observe(self.t, self.n)

    def paused(self, seconds: float) -> None:
        self.est.pause(self.t)
        self.wait(seconds)
        self.est.resume(self.t)

    @property
    def rate(self):
        return self.est.rate(self.t, self.n)

    @property
    def eta(self):
        return self.est.eta(self.t, self.n, self.total)


def test_steady_steps_give_their_exact_rate_and_eta():
    """Constant 0.5 s steps: 2 items/s, and the ETA is the items left times 0.5 s."""
    run = Run(total=100)
    for _ in range(20):
        run.step(0.5)
    assert run.rate == pytest.approx(2.0)
    assert run.eta == pytest.approx(80 * 0.5)


def test_nothing_is_known_before_the_first_item():
    """Before any item completes there is no rate and no ETA."""
    run = Run(total=10)
    run.wait(3.0)
    assert run.rate is None and run.eta is None


def test_the_slow_first_step_is_left_out():
    """A 30 s first step (compilation) does not slow the estimate of 0.2 s steps."""
    run = Run(total=100)
    run.step(30.0)
    for _ in range(5):
        run.step(0.2)
    assert run.rate == pytest.approx(5.0)
    assert run.eta == pytest.approx(94 * 0.2)


def test_the_eta_counts_down_during_a_step_up_to_its_usual_length():
    """Between updates the ETA falls with the clock, but never by more than one step's time."""
    run = Run(total=100)
    for _ in range(10):
        run.step(1.0)
    at_update = run.eta
    run.wait(0.4)
    assert run.eta == pytest.approx(at_update - 0.4)
    run.wait(5.0)  # a stalled step: the ETA stops falling at one step's worth
    assert run.eta == pytest.approx(at_update - 1.0)


def test_noise_averages_out_over_the_window():
    """Log-normal step times (sigma 0.5): after 150 steps the rate stays within 15% of the
    true mean speed (an exponential average with tqdm's smoothing strays by 70-95%)."""
    rng = random.Random(7)
    run = Run()
    worst = 0.0
    for i in range(600):
        run.step(0.2 * rng.lognormvariate(-0.125, 0.5))
        if i >= 150:
            worst = max(worst, abs(run.rate * 0.2 - 1.0))
    assert worst < 0.15


def test_a_speed_change_is_followed_within_a_few_steps():
    """When steps go from 0.2 s to 0.4 s, three slow steps later the rate is the new one."""
    run = Run(total=400)
    for _ in range(200):
        run.step(0.2)
    for _ in range(3):
        run.step(0.4)
    assert run.rate == pytest.approx(2.5)


def test_a_hiccup_is_left_out_of_the_rate_and_spread_over_the_eta():
    """One 20 s step among 0.5 s steps: the rate stays 2/s; the extra time is overhead."""
    run = Run(total=200)
    for _ in range(50):
        run.step(0.5)
    run.step(20.0)
    for _ in range(49):
        run.step(0.5)
    assert run.rate == pytest.approx(2.0)
    # 19.5 s of extra time, 50 items after the first step: until 50 more items have passed
    # without another, it is expected again, as a periodic evaluation would be.
    assert run.eta == pytest.approx(100 * (0.5 + 19.5 / 50))


def test_paused_time_is_left_out_of_the_rate():
    """Pauses do not slow the rate: it is the speed while running (1 s pauses every other
    0.5 s step are too short and too frequent to pass for hiccups: only pause() leaves them out)."""
    run = Run(total=100)
    for i in range(40):
        run.step(0.5)
        if i % 2 == 1:
            run.paused(1.0)
    assert run.rate == pytest.approx(2.0)


def test_periodic_pauses_are_expected_at_their_average_cost():
    """A 5 s pause every 10 steps of 0.5 s: the ETA counts 0.5 s of pause per step left."""
    run = Run(total=200)
    run.step(0.5)  # the first step, left out
    for i in range(100):
        run.step(0.5)
        if i % 10 == 9:
            run.paused(5.0)
    assert run.eta == pytest.approx(99 * (0.5 + 50.0 / 100))


def test_a_pause_that_does_not_come_back_fades_from_the_eta():
    """One 10 s pause after 10 steps: 500 steps later it weighs 10 s over 490 items, not 10."""
    run = Run(total=1000)
    run.step(1.0)  # the first step, left out
    for _ in range(10):
        run.step(1.0)
    run.paused(10.0)
    for _ in range(490):
        run.step(1.0)
    assert run.eta == pytest.approx(499 * (1.0 + 10.0 / (500 - 10)))


def test_the_eta_stands_still_in_a_first_pause_and_counts_down_in_later_ones():
    """In a first pause nothing says how long it lasts; later ones count down their usual length."""
    run = Run(total=100)
    for _ in range(10):
        run.step(1.0)
    run.est.pause(run.t)
    before = run.eta
    run.wait(3.0)
    assert run.eta == pytest.approx(before)
    run.est.resume(run.t)
    for _ in range(5):
        run.step(1.0)
    run.est.pause(run.t)
    before = run.eta
    run.wait(1.0)
    assert run.eta == pytest.approx(before - 1.0)
    run.wait(10.0)
    assert run.eta == pytest.approx(before - 3.0)  # no further than the usual 3 s


def test_progress_going_back_starts_the_estimate_over():
    """Moving back (a reset) forgets the old speed: the next first step is left out again."""
    run = Run(total=100)
    for _ in range(10):
        run.step(0.2)
    run.n = 0
    run.est.observe(run.t, 0)
    run.step(5.0)
    assert run.eta is None
    run.step(1.0)
    assert run.rate == pytest.approx(1.0)


def test_fractional_progress_is_accepted():
    """Progress may be fractional (an outer bar counting its inner bar's share)."""
    run = Run(total=10)
    for _ in range(12):
        run.step(1.0, items=0.25)
    assert run.rate == pytest.approx(0.25)
    assert run.eta == pytest.approx((10 - 3) / 0.25)


def test_rate_and_eta_are_none_without_a_total_or_progress():
    """No total means no ETA; a bar that never moved has no rate."""
    run = Run()
    run.step(1.0)
    run.step(1.0)
    assert run.eta is None
    assert math.isclose(run.rate, 1.0)


# --- through the Bar and the display ----------------------------------------------------------


def test_outer_bar_eta_moves_during_an_epoch(manual):
    """An epoch bar's ETA uses the open step bar's share: it falls during the epoch."""
    clock, display = manual
    outer = trainbar.bar(total=4, desc="epoch", file=io.StringIO())
    etas = []
    for _ in range(2):
        inner = trainbar.bar(total=10, desc="step", leave=False, file=io.StringIO())
        for _ in range(10):
            clock.advance(1.0)
            inner.update(1)
            display.tick()
            etas.append(outer.eta)
        inner.close()
        outer.update(1)
        display.tick()
    # Within the second epoch the ETA falls with every step, to the 20 s left at its end.
    assert all(later < earlier for earlier, later in zip(etas[10:], etas[11:]))
    assert outer.eta == pytest.approx(20.0)
    assert outer.rate == pytest.approx(0.1)


def test_outer_progress_never_goes_back_when_a_second_child_opens(manual):
    """An evaluation bar opening after the epoch's step bar closed does not pull progress back."""
    clock, display = manual
    outer = trainbar.bar(total=4, file=io.StringIO())
    inner = trainbar.bar(total=10, leave=False, file=io.StringIO())
    for _ in range(10):
        clock.advance(1.0)
        inner.update(1)
        display.tick()
    inner.close()
    evaluation = trainbar.bar(total=5, leave=False, file=io.StringIO())
    clock.advance(1.0)
    display.tick()
    assert outer._estimator.known_progress(outer.n) == pytest.approx(1.0)
    evaluation.close()


def test_pause_shows_its_phase_and_pauses_the_outer_bar(manual):
    """``with bar.pause("eval")`` names the phase on the bar and on the bar it is nested in."""
    clock, display = manual
    stream = io.StringIO()
    outer = trainbar.bar(total=2, desc="epoch", file=stream)
    inner = trainbar.bar(total=10, desc="train", file=stream)
    with inner.pause("eval"):
        assert inner.phase == "eval" and outer.phase == "eval"
        assert outer._estimator.paused
        clock.advance(31.0)
        display.tick()  # a periodic log line for each bar
        inner.close()
    assert outer.phase is None and not outer._estimator.paused
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("epoch > train") and "paused" not in lines[-1]  # the closing line
    assert sum("paused (eval)" in line for line in lines) == 2


def test_pause_is_shown_in_the_terminal_line(manual):
    """On a terminal the phase takes the rate's place while paused."""
    from conftest import FakeTerminal

    clock, display = manual
    term = FakeTerminal(100)
    b = trainbar.bar(total=10, desc="train", file=term)
    b.update(2)
    with b.pause("checkpoint"):
        display.tick()
    assert "2/10 [00:00<?, checkpoint]" in term.getvalue()
    b.close()


def test_bar_rate_leaves_paused_time_out(manual):
    """Bar.rate is the speed while running: 10 s of evaluation do not lower it."""
    clock, display = manual
    b = trainbar.bar(total=100, file=io.StringIO())
    for i in range(20):
        clock.advance(0.5)
        b.update(1)
        display.tick()
        if i == 10:
            with b.pause("eval"):
                clock.advance(10.0)
                display.tick()
    assert b.rate == pytest.approx(2.0)


def test_pause_phase_must_be_text():
    """A phase that is not a string is a TypeError naming the argument."""
    b = trainbar.bar(total=3, file=io.StringIO())
    with pytest.raises(TypeError, match="phase"):
        b.pause(3)


def test_reading_a_coarser_progress_does_not_reset_the_estimate():
    """A reader passing the whole count (3) after the display saw 3.5 leaves the speed alone."""
    run = Run(total=10)
    for _ in range(8):
        run.step(1.0, items=0.5)
    assert run.est.rate(run.t, 3) == pytest.approx(0.5)
    assert run.rate == pytest.approx(0.5)


def test_tqdm_format_dict_of_an_epoch_bar_keeps_its_rate(manual):
    """tqdm's format_dict on an outer bar does not throw away the estimate made from its child."""
    clock, display = manual
    outer = trainbar.tqdm(total=4, file=io.StringIO())
    inner = trainbar.bar(total=10, file=io.StringIO())
    for _ in range(6):
        clock.advance(1.0)
        inner.update(1)
        display.tick()
    assert outer.format_dict["rate"] == pytest.approx(0.1)
    display.tick()
    assert outer.eta is not None


# --- one bar, one rate: the final line's rate does not depend on the output mode ------------------


def _slow_first_item(clock):
    clock.advance(3.0)  # compilation, workers starting: the first item takes 3 s
    yield 0
    for i in range(1, 16):
        clock.advance(0.1)
        yield i


@pytest.mark.parametrize("terminal", [False, True], ids=["log file", "terminal"])
@pytest.mark.parametrize("ticks", [False, True], ids=["no redraw before the end", "a redraw every step"])
def test_a_finished_bar_reports_its_average_over_the_steps_it_timed(manual, terminal, ticks):
    """Fifteen steps of 0.1 s after a 3 s first item: 10 it/s, however often it was drawn."""
    from conftest import FakeTerminal

    clock, display = manual
    stream = FakeTerminal() if terminal else io.StringIO()
    b = trainbar.bar(_slow_first_item(clock), desc="train", file=stream)
    for _ in b:
        if ticks:
            display.tick()
    display.tick()
    assert b.rate == pytest.approx(10.0)
    shown = re.findall(r"([\d.]+)it/s", stream.getvalue())
    assert float(shown[-1]) == pytest.approx(10.0), stream.getvalue()  # the final line's


def test_a_finished_bar_with_a_hiccup_reports_the_same_rate_in_every_mode(manual):
    """An undeclared pause in the middle counts in the final average, drawn or not drawn."""
    from conftest import FakeTerminal

    clock, display = manual
    rates = []
    for stream, ticks in ((io.StringIO(), False), (FakeTerminal(), True)):

        def steps():
            for i in range(40):
                clock.advance(5.0 if i == 20 else 0.1)
                yield i

        b = trainbar.bar(steps(), file=stream)
        for _ in b:
            if ticks:
                display.tick()
        rates.append(b.rate)
    assert rates[0] == pytest.approx(rates[1])
    assert rates[0] == pytest.approx(39 / (38 * 0.1 + 5.0))


# --- undeclared periodic slow steps (issue 16) -------------------------------------------------


def _periodic(n, every, factor, sigma=0.0, seed=3):
    """0.2 s steps, every ``every``-th one ``factor`` times slower, none declared with pause();
    with ``sigma``, every step time jittered (log-normal, mean kept)."""
    rng = random.Random(seed)
    times = []
    for i in range(1, n + 1):
        seconds = 0.2 * (factor if i % every == 0 else 1.0)
        times.append(seconds * rng.lognormvariate(-sigma * sigma / 2, sigma) if sigma else seconds)
    return times


def _eta_errors(times):
    """Mean absolute ETA error of the estimator and of tqdm's default one, as the ETA benchmark
    measures them: the display samples progress every 0.1 s (so a sample may hold several steps,
    or a part of a slow one), and both ETAs are read every 0.5 s. tqdm's is an exponential average
    (smoothing 0.3) of each update's items and seconds, an update being a step that ends 0.1 s
    (its mininterval) or more after the last one; its ETA uses the current count."""
    total = len(times)
    ends = list(itertools.accumulate(times))
    est = RateEstimator(0.0, 0)
    ema_dn = ema_dt = 0.0
    last_n, last_t = 0, 0.0
    done = 0
    ours, theirs = [], []
    for tick in range(1, int(ends[-1] * 10) + 1):
        t = tick / 10
        while done < total and ends[done] <= t:
            done += 1
            if ends[done - 1] - last_t >= 0.1:  # tqdm's update at the step's end
                ema_dn = 0.3 * (done - last_n) + 0.7 * ema_dn
                ema_dt = 0.3 * (ends[done - 1] - last_t) + 0.7 * ema_dt
                last_n, last_t = done, ends[done - 1]
        est.observe(t, done)
        if tick % 5 == 0 and ema_dn:
            truth = ends[-1] - t
            eta = est.eta(t, done, total)
            if eta is not None and truth > 0:
                ours.append(abs(eta - truth))
                theirs.append(abs((total - done) * ema_dt / ema_dn - truth))  # bias corrections cancel
    return sum(ours) / len(ours), sum(theirs) / len(theirs)


@pytest.mark.parametrize("sigma", [0.0, 0.2], ids=["exact steps", "jittered steps"])
@pytest.mark.parametrize(("every", "factor"), [(10, 10.0), (100, 50.0)], ids=["10th step 10x", "100th step 50x"])
def test_undeclared_periodic_slow_steps_keep_the_eta_within_half_of_tqdms_error(every, factor, sigma):
    """A slow step that comes back every so often (an evaluation nobody declared) is part of the
    pace: over 1000 steps the ETA's mean error is at most half of tqdm's."""
    ours, theirs = _eta_errors(_periodic(1000, every, factor, sigma))
    assert ours <= 0.5 * theirs, (ours, theirs)


@pytest.mark.parametrize("sigma", [0.0, 0.2], ids=["exact steps", "jittered steps"])
def test_periodic_slow_steps_are_expected_at_their_average_cost(sigma):
    """Every 10th step 10x slower: once a few have passed, the ETA is the items left times the
    average step (0.38 s), within 5%, wherever in the period it is read."""
    times = _periodic(400, 10, 10.0, sigma)
    run = Run(total=1000)
    for seconds in times[:100]:
        run.step(seconds)
    for seconds in times[100:]:
        run.step(seconds)
        assert run.eta == pytest.approx((1000 - run.n) * 0.38, rel=0.05)


def test_a_slow_step_followed_by_a_slightly_slow_one_is_no_change_of_speed():
    """0.2 s steps, then a 2 s one and a 0.3 s one: the slow step is no evidence of a new speed,
    so the window keeps its steps (the rate stays 5/s) and the slow step stays overhead: 1.8 s
    over the 30 items since the first."""
    run = Run(total=200)
    for _ in range(30):
        run.step(0.2)
    run.step(2.0)
    run.step(0.3)
    assert run.rate == pytest.approx(30 / (29 * 0.2 + 0.3))
    assert run.eta == pytest.approx(168 * ((29 * 0.2 + 0.3) / 30 + 1.8 / 30))


def test_a_long_slow_step_does_not_push_the_steady_steps_out_of_the_window():
    """A 60 s step among 0.9-1.1 s steps: the window still holds the steps before it (a minute of
    them), so the ordinary noise after it is judged against them, not read as a new speed."""
    rng = random.Random(11)
    run = Run(total=500)
    for _ in range(40):
        run.step(rng.choice((0.9, 1.0, 1.1)))
    run.step(60.0)
    for _ in range(10):
        run.step(rng.choice((0.9, 1.0, 1.1)))
    assert run.rate == pytest.approx(1.0, rel=0.03)
    # The slow step's ~59 s beyond a usual step, spread over the 40 items before it.
    assert run.eta == pytest.approx((500 - 51) * (1.0 + 59.0 / 40), rel=0.03)


def test_steps_near_the_display_cadence_are_not_read_as_speed_changes():
    """Jittered 0.05 s steps sampled every 0.1 s come in as one item or two (now and then three)
    per sample: that granularity is no change of speed, so the rate stays within 5% of the true
    one instead of restarting from a few samples."""
    rng = random.Random(5)
    ends = list(itertools.accumulate(0.05 * rng.lognormvariate(-0.02, 0.2) for _ in range(3000)))
    est = RateEstimator(0.0, 0)
    done = 0
    worst = 0.0
    for tick in range(1, int(ends[-1] * 10)):
        t = tick / 10
        while ends[done] <= t:
            done += 1
        est.observe(t, done)
        if done > 1000:
            true_rate = 1000 / (ends[done - 1] - ends[done - 1001])  # over the last 1000 steps
            worst = max(worst, abs(est.rate(t, done) / true_rate - 1.0))
    assert worst < 0.05
