"""Events: the outbox (events for notifications and jobs to enqueue, written with the change)."""

from moorage.events.outbox import Outbox, OutboxRecord

__all__ = ["Outbox", "OutboxRecord"]
