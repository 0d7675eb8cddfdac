"""gateway.publishing.checkpoint_clock.CheckpointClock: a checkpoint is due once an interval has passed since
the start or the last checkpoint, on a fake clock."""

from __future__ import annotations

from gateway.publishing.checkpoint_clock import CheckpointClock


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_checkpoint_is_due_once_the_interval_has_passed() -> None:
    clock = FakeClock()
    checkpoints = CheckpointClock(1.0, clock)
    clock.now += 0.75
    assert not checkpoints.due()
    clock.now += 0.25
    assert checkpoints.due()
    clock.now += 5.0
    assert checkpoints.due()


def test_the_interval_starts_again_when_the_checkpoint_is_recorded() -> None:
    clock = FakeClock()
    checkpoints = CheckpointClock(1.0, clock)
    clock.now += 1.0
    assert checkpoints.due()
    clock.now += 0.5  # the checkpoint itself took half a second
    checkpoints.checkpointed()
    clock.now += 0.75
    assert not checkpoints.due()
    clock.now += 0.25
    assert checkpoints.due()
