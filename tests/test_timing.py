import logging

import pytest

from capture.timing import Ticker, TimingStats


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_ticker_keeps_a_fixed_schedule():
    clock = FakeClock()
    ticker = Ticker(10, clock=clock, sleep=clock.sleep)
    ticker.wait()
    clock.now += 0.03  # work shorter than the 100 ms period
    ticker.wait()
    assert clock.slept == [pytest.approx(0.07)]
    assert ticker.stats.counters == {}
    assert ticker.stats.rate("interval_ms") == pytest.approx(10.0)


def test_ticker_counts_overruns_and_drops_without_catching_up(caplog):
    clock = FakeClock()
    ticker = Ticker(10, clock=clock, sleep=clock.sleep)
    ticker.wait()
    clock.now += 0.15  # 50 ms late: an overrun, no whole period missed
    with caplog.at_level(logging.WARNING):
        ticker.wait()
    assert ticker.stats.counters == {"overruns": 1}
    assert "overran its 100.0 ms period by 50.0 ms" in caplog.text
    clock.now += 0.05  # back on schedule at 200 ms: no wait needed beyond the deadline
    ticker.wait()
    clock.now += 0.45  # 3.5 periods late: 3 ticks dropped, schedule restarts from now
    ticker.wait()
    assert ticker.stats.counters["dropped"] == 3
    clock.slept.clear()
    clock.now += 0.01
    ticker.wait()
    assert clock.slept == [pytest.approx(0.09)]


def test_unpaced_ticker_and_bad_rates():
    ticker = Ticker(None)
    ticker.wait()
    ticker.wait()
    for bad in (0, -5, float("nan"), 5000):
        with pytest.raises(ValueError, match="fps must be in"):
            Ticker(bad)


def test_stats_summary():
    stats = TimingStats(window=100)
    for ms in range(1, 201):
        stats.add("x", float(ms))
    summary = stats.summary()["x"]
    assert summary["n"] == 100 and summary["max"] == 200
    assert summary["p50"] == pytest.approx(150.5)
    with pytest.raises(ValueError):
        TimingStats(0)


class StillGrabber:
    """A window that shows a new picture only every other grab."""

    def __init__(self):
        self.n = 0

    def grab(self):
        self.n += 1
        import numpy as np

        return np.full((60, 80, 4), (self.n + 1) // 2 * 10, np.uint8)


def test_frame_source_statistics():
    from capture.frame_source import FrameSource

    source = FrameSource(StillGrabber(), fps=None)  # type: ignore[arg-type]
    frames = [source.read() for _ in range(6)]
    assert [f.index for f in frames] == [1, 2, 3, 4, 5, 6]
    assert frames[0].obs.shape == (128, 200, 1) and frames[0].obs_u8.shape == (128, 200)
    counters = source.stats.counters
    assert counters["frames"] == 6 and counters["duplicates"] == 3
    summary = source.stats.summary()
    assert summary["grab_ms"]["n"] == 6 and summary["preprocess_ms"]["n"] == 6
    assert source.fps() > 0
