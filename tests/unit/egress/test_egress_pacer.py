"""ConnectionPacer: concurrency caps, token-bucket pacing (on a fake clock), FIFO, cancellation."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from stepline.connections._resolved import ConnectionLimits
from stepline.egress import ConnectionPacer

ARN = "arn:aws:events:us-east-1:123456789012:connection/pay/abc"


class FakeTime:
    """A clock that moves only when the pacer sleeps: pacing is checked without real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def run(coro: object) -> object:
    async def bounded() -> object:
        return await asyncio.wait_for(coro, 10)  # type: ignore[arg-type]

    return asyncio.run(bounded())


def test_no_limits_costs_nothing_and_keeps_no_state() -> None:
    pacer = ConnectionPacer()

    async def main() -> None:
        for limits in (None, ConnectionLimits(), ConnectionLimits(burst=5)):
            slot = pacer.slot(ARN, limits)
            assert slot is pacer.slot("other", None)  # one shared no-op object
            async with slot:
                pass

    run(main())
    assert pacer.in_flight(ARN) == 0
    assert pacer._states == {}


def test_concurrency_cap_is_never_exceeded_and_order_is_fifo() -> None:
    pacer = ConnectionPacer()
    limits = ConnectionLimits(max_concurrency=3)
    in_flight = 0
    peak = 0
    entered: list[int] = []

    async def one(index: int) -> None:
        nonlocal in_flight, peak
        async with pacer.slot(ARN, limits):
            entered.append(index)
            in_flight += 1
            peak = max(peak, in_flight)
            assert pacer.in_flight(ARN) <= 3
            for _ in range(3):
                await asyncio.sleep(0)
            in_flight -= 1

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(20)))

    run(main())
    assert peak == 3
    assert entered == list(range(20))
    assert pacer.in_flight(ARN) == 0


def test_rate_limit_spaces_requests_after_the_burst() -> None:
    time = FakeTime()
    pacer = ConnectionPacer(clock=time.clock, sleep=time.sleep)
    limits = ConnectionLimits(rate_per_second=10, burst=2)
    starts: list[tuple[int, float]] = []

    async def one(index: int) -> None:
        async with pacer.slot(ARN, limits):
            starts.append((index, time.now))

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(12)))

    run(main())
    assert [index for index, _ in starts] == list(range(12))
    moments = [moment for _, moment in starts]
    # Two go at once (the burst), then one every 1/rate seconds of (fake) time.
    assert moments[:2] == [0.0, 0.0]
    for earlier, later in itertools.pairwise(moments[1:]):
        assert later - earlier == pytest.approx(0.1)
    assert moments[-1] == pytest.approx(1.0)


def test_burst_defaults_to_the_rate_and_refills_while_quiet() -> None:
    time = FakeTime()
    pacer = ConnectionPacer(clock=time.clock, sleep=time.sleep)
    limits = ConnectionLimits(rate_per_second=5)

    async def burst(count: int) -> None:
        for _ in range(count):
            async with pacer.slot(ARN, limits):
                pass

    async def main() -> None:
        await burst(5)
        assert time.sleeps == []  # five tokens in a full bucket
        await burst(1)
        assert time.sleeps == [pytest.approx(0.2)]
        time.now += 10.0  # a quiet spell refills the bucket, capped at the burst
        time.sleeps.clear()
        await burst(5)
        assert time.sleeps == []

    run(main())


def test_rate_and_cap_together() -> None:
    time = FakeTime()
    pacer = ConnectionPacer(clock=time.clock, sleep=time.sleep)
    limits = ConnectionLimits(rate_per_second=100, burst=1, max_concurrency=2)
    peak = 0
    in_flight = 0
    done = 0

    async def one() -> None:
        nonlocal peak, in_flight, done
        async with pacer.slot(ARN, limits):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0)
            in_flight -= 1
            done += 1

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(10)))

    run(main())
    assert done == 10
    assert peak <= 2
    assert time.now == pytest.approx(0.09)
    assert pacer.in_flight(ARN) == 0


def test_cancelled_waiters_give_back_their_place() -> None:
    pacer = ConnectionPacer()
    limits = ConnectionLimits(max_concurrency=1)
    order: list[str] = []

    async def hold(name: str, release: asyncio.Event) -> None:
        async with pacer.slot(ARN, limits):
            order.append(name)
            await release.wait()

    async def main() -> None:
        release_a, release_c = asyncio.Event(), asyncio.Event()
        a = asyncio.create_task(hold("a", release_a))
        await asyncio.sleep(0)
        b = asyncio.create_task(hold("b", asyncio.Event()))
        c = asyncio.create_task(hold("c", release_c))
        await asyncio.sleep(0)
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)
        release_a.set()
        await a
        for _ in range(5):
            await asyncio.sleep(0)
        assert pacer.in_flight(ARN) == 1
        release_c.set()
        await c

    run(main())
    assert order == ["a", "c"]
    assert pacer.in_flight(ARN) == 0


def test_cancelled_token_waiter_at_the_head_does_not_block_the_line() -> None:
    time = FakeTime()
    pacer = ConnectionPacer(clock=time.clock, sleep=time.sleep)
    limits = ConnectionLimits(rate_per_second=1, burst=1)
    got: list[str] = []

    async def one(name: str) -> None:
        async with pacer.slot(ARN, limits):
            got.append(name)

    async def main() -> None:
        await one("first")  # empties the bucket
        blocked = asyncio.Event()

        async def slow_sleep(seconds: float) -> None:
            await blocked.wait()
            await time.sleep(seconds)

        pacer._sleep = slow_sleep
        head = asyncio.create_task(one("head"))
        tail = asyncio.create_task(one("tail"))
        await asyncio.sleep(0)
        head.cancel()
        await asyncio.gather(head, return_exceptions=True)
        blocked.set()
        await tail

    run(main())
    assert got == ["first", "tail"]


def test_raising_the_cap_starts_waiters_at_once() -> None:
    pacer = ConnectionPacer()
    entered: list[int] = []

    async def hold(index: int, limits: ConnectionLimits, release: asyncio.Event) -> None:
        async with pacer.slot(ARN, limits):
            entered.append(index)
            await release.wait()

    async def main() -> None:
        release = asyncio.Event()
        one = ConnectionLimits(max_concurrency=1)
        tasks = [asyncio.create_task(hold(i, one, release)) for i in range(3)]
        for _ in range(3):
            await asyncio.sleep(0)
        assert entered == [0]
        tasks.append(asyncio.create_task(hold(3, ConnectionLimits(max_concurrency=4), release)))
        for _ in range(3):
            await asyncio.sleep(0)
        assert sorted(entered) == [0, 1, 2, 3]
        release.set()
        await asyncio.gather(*tasks)

    run(main())
    assert pacer.in_flight(ARN) == 0


def test_pacer_outlives_event_loops() -> None:
    pacer = ConnectionPacer()
    limits = ConnectionLimits(max_concurrency=1, rate_per_second=1000)

    async def abandon() -> None:
        async def hold() -> None:
            async with pacer.slot(ARN, limits):
                await asyncio.Event().wait()

        holder = asyncio.create_task(hold())
        waiter = asyncio.create_task(hold())  # waits for the slot when the loop ends
        for _ in range(3):
            await asyncio.sleep(0)
        assert pacer.in_flight(ARN) == 1
        assert not holder.done() and not waiter.done()

    asyncio.run(abandon())  # asyncio.run cancels both tasks on its way out

    async def again() -> int:
        async with pacer.slot(ARN, limits):
            return pacer.in_flight(ARN)

    assert run(again()) == 1
    assert pacer.in_flight(ARN) == 0


def test_a_token_waiter_of_a_closed_loop_does_not_block_the_next_loop() -> None:
    time = FakeTime()
    stuck = asyncio.Event()

    async def never(seconds: float) -> None:
        await stuck.wait()

    pacer = ConnectionPacer(clock=time.clock, sleep=never)
    limits = ConnectionLimits(rate_per_second=1, burst=1)

    async def one() -> None:
        async with pacer.slot(ARN, limits):
            pass

    loop = asyncio.new_event_loop()
    loop.run_until_complete(one())  # takes the only token
    orphan = loop.create_task(one())  # waits at the head of the line, forever
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()  # closed without cancelling `orphan` (not how asyncio.run ends)
    del orphan

    pacer._sleep = time.sleep
    run(one())  # gets the next token instead of queueing behind the dead waiter
    assert time.now == pytest.approx(1.0)


@pytest.mark.parametrize(
    "limits",
    [
        ConnectionLimits(rate_per_second=0),
        ConnectionLimits(rate_per_second=-1),
        ConnectionLimits(rate_per_second=1, burst=0),
        ConnectionLimits(max_concurrency=0),
    ],
)
def test_impossible_limits_are_rejected(limits: ConnectionLimits) -> None:
    with pytest.raises(ValueError, match="ConnectionLimits"):
        ConnectionPacer().slot(ARN, limits)
