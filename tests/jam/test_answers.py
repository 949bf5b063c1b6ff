"""Answers handed from the committer's thread to an event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jam.answers import Deliveries, LoopAnswer, deliveries_for


def _settle_in_thread(*steps) -> None:
    thread = threading.Thread(target=lambda: [step() for step in steps])
    thread.start()
    thread.join()


def test_answers_settled_together_reach_the_loop_in_one_wake_up():
    async def main():
        loop = asyncio.get_running_loop()
        deliveries = Deliveries(loop)
        wake_ups = []
        deliver = deliveries._deliver
        deliveries._deliver = lambda: (wake_ups.append(1), deliver())
        answers = [LoopAnswer(deliveries) for _ in range(5)]
        failure = ValueError("refused")
        _settle_in_thread(
            *(lambda a=a, k=k: a.set_result(k) for k, a in enumerate(answers[:4])),
            lambda: answers[4].set_exception(failure),
        )
        results = await asyncio.gather(*(a.future for a in answers), return_exceptions=True)
        return results, wake_ups

    results, wake_ups = asyncio.run(main())
    assert results[:4] == [0, 1, 2, 3]
    assert isinstance(results[4], ValueError)
    assert wake_ups == [1]


def test_the_committer_reads_back_what_it_settled_and_cannot_settle_twice():
    async def main():
        answer = LoopAnswer(deliveries_for(asyncio.get_running_loop()))
        assert not answer.done()
        answer.set_result("done")
        assert answer.done()
        assert answer.result() == "done"
        assert answer.exception() is None
        with pytest.raises(asyncio.InvalidStateError):
            answer.set_exception(ValueError("late"))
        return await answer.future

    assert asyncio.run(main()) == "done"


def test_the_caller_sees_the_translated_exception_and_the_committer_the_original():
    original = OSError("connection refused")

    async def main():
        answer = LoopAnswer(
            deliveries_for(asyncio.get_running_loop()), lambda exc: RuntimeError(f"shown: {exc}")
        )
        _settle_in_thread(lambda: answer.set_exception(original))
        assert answer.exception() is original
        with pytest.raises(RuntimeError, match="shown: connection refused"):
            await answer.future

    asyncio.run(main())


def test_an_answer_for_a_caller_who_gave_up_or_a_closed_loop_is_dropped_quietly():
    async def main():
        deliveries = deliveries_for(asyncio.get_running_loop())
        gave_up, waiting = LoopAnswer(deliveries), LoopAnswer(deliveries)
        gave_up.future.cancel()
        _settle_in_thread(lambda: gave_up.set_result(1), lambda: waiting.set_result(2))
        return await waiting.future

    assert asyncio.run(main()) == 2
    # The loop is closed now: settling must neither raise nor keep the answer.
    loop = asyncio.new_event_loop()
    late = Deliveries(loop)
    future = loop.create_future()
    loop.close()
    late.settle(future, 3, None)
    assert late._pending == []
