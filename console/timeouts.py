"""Citizens left waiting: after HANDOFF_WAIT_MINUTES in the queue, the bot tells them once.

They stay queued. A handoff created outside its area's service hours already
had its notice (the bot said so at once), so it gets no second one.
"""
import asyncio
import logging
from datetime import timedelta

from console import auth, queue
from console.assistant import Assistant, AssistantError
from console.clock import to_text
from console.store import Store

logger = logging.getLogger(__name__)

WAIT_TIMEOUT = "utter_handoff_wait_timeout"
WAIT_TIMEOUT_EMERGENCY = "utter_handoff_wait_timeout_emergency"


async def notify_waiting(store: Store, assistant: Assistant, wait: timedelta) -> int:
    """One pass; returns how many citizens were told."""
    due = await asyncio.to_thread(store.due_wait_notices, to_text(store.clock() - wait))
    told = 0
    for handoff in due:
        response = WAIT_TIMEOUT_EMERGENCY if handoff.priority < queue.ROUTINE else WAIT_TIMEOUT
        if not await asyncio.to_thread(store.claim_wait_notice, handoff.id):
            continue  # another console process has it
        try:
            await assistant.say(handoff.citizen_id, response)
        except AssistantError as error:
            logger.warning("wait notice for handoff %s not delivered: %s", handoff.id, error)
            await asyncio.to_thread(store.release_wait_notice, handoff.id)
            continue  # tried again on the next pass
        await asyncio.to_thread(store.record_wait_notice, handoff.id, response)
        told += 1
    return told


def housekeeping(store: Store, idle: timedelta) -> None:
    now = store.clock()
    store.prune(to_text(now - timedelta(days=1)), to_text(now - idle),
                to_text(now - auth.ABSOLUTE_LIFETIME))


async def run_forever(store: Store, assistant: Assistant, wait: timedelta, every_s: float,
                      idle: timedelta = timedelta(minutes=30)) -> None:
    while True:
        try:
            await notify_waiting(store, assistant, wait)
            await asyncio.to_thread(housekeeping, store, idle)
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive a database hiccup
            logger.exception("wait-notice pass failed")
        await asyncio.sleep(every_s)
