"""Rasa's SQL tracker store, plus forgetting: ``type: privacy.tracker_store.ForgettingSQLTrackerStore``.

Rasa 3.6 builds a tracker store of a custom ``type`` with ``class_from_module_path`` and
the section's keys as keyword arguments (``tracker_store._load_from_module_name_in_endpoint_config``),
so every key of a ``type: SQL`` section works unchanged here.

Why the erasure lives in the store and not in the action: ``SQLTrackerStore.save`` writes
only the tracker's events beyond the number already stored for the latest session. An
action that deleted the rows mid-turn would see them all written again by the save that
ends the turn. So the action (``action_delete_my_data``) only erases the city's records; when
this store saves a turn whose new events include that action's ``ActionExecuted`` followed by
the ``AllSlotsReset`` it returns (after its messages), it deletes every stored event of the sender instead of
saving, then the photos the conversation carried and the WhatsApp delivery records of its
messages. Any other save is exactly ``SQLTrackerStore.save``.

The reset is part of the marker because Rasa logs an action's ``ActionExecuted`` even when
the action server failed (``MessageProcessor._run_action`` then returns no events): a
citizen whose erasure never ran keeps their conversation and can ask again.
"""
import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Set, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, AllSlotsReset, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from channels.whatsapp.dedup import purge_redis, purge_sqlite
from channels.whatsapp.media import purge_media
from privacy.whatsapp_storage import WhatsAppStorage

logger = logging.getLogger(__name__)

FORGET_ACTION = "action_delete_my_data"


@dataclass(frozen=True)
class ForgottenConversation:
    events: int
    media_files: int
    dedup_records: int
    pending_messages: int


def _digits(text: Text) -> Text:
    return "".join(c for c in text if c.isdigit())


def _traces(events: Iterable[Dict[Text, Any]]) -> "tuple[Set[Text], Set[Text]]":
    """WhatsApp message ids and stored photo paths in a conversation's user events."""
    message_ids: Set[Text] = set()
    media_paths: Set[Text] = set()
    for event in events:
        if event.get("event") != "user":
            continue
        if event.get("message_id"):
            message_ids.add(str(event["message_id"]))
        media = ((event.get("metadata") or {}).get("whatsapp") or {}).get("media") or {}
        if isinstance(media, dict) and media.get("path"):
            media_paths.add(str(media["path"]))
    return message_ids, media_paths


def _events_of_action(events: List[Any]) -> List[Any]:
    """The events an action returned: those after its ``ActionExecuted``, up to the next one
    (Rasa puts the action's messages first, then the events it returned)."""
    returned = []
    for event in events:
        if isinstance(event, ActionExecuted):
            break
        returned.append(event)
    return returned


class ForgettingSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        *args: Any,
        forget_action: Text = FORGET_ACTION,
        whatsapp_storage: Optional[WhatsAppStorage] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.forget_action = forget_action
        self._storage = whatsapp_storage

    @property
    def storage(self) -> WhatsAppStorage:
        # read when first needed, not at construction: tests and tools set the env late
        return self._storage or WhatsAppStorage.from_env()

    async def save(self, tracker: DialogueStateTracker) -> None:
        if not self._asks_to_forget(tracker):
            await super().save(tracker)
            return
        await self.stream_events(tracker)  # the broker masks what it publishes
        forgotten = await asyncio.to_thread(self.forget, tracker.sender_id, tracker.events)
        logger.info(
            "Forgot a conversation on its citizen's request: %s events, %s photos, "
            "%s delivery records, %s pending messages.",
            forgotten.events,
            forgotten.media_files,
            forgotten.dedup_records,
            forgotten.pending_messages,
        )

    def _asks_to_forget(self, tracker: DialogueStateTracker) -> bool:
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
        return any(
            isinstance(event, ActionExecuted)
            and event.action_name == self.forget_action
            and any(isinstance(e, AllSlotsReset) for e in _events_of_action(new_events[i + 1:]))
            for i, event in enumerate(new_events)
        )

    def forget(self, sender_id: Text, unsaved: Iterable[Any] = ()) -> ForgottenConversation:
        """Deletes every event of ``sender_id``, then its photos and delivery records."""
        with self.session_scope() as session:
            query = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id)
            stored = [json.loads(row.data) for row in query.filter(self.SQLEvent.type_name == "user")]
            events = query.delete(synchronize_session=False)
            session.commit()
        message_ids, media_paths = _traces(
            stored + [e.as_dict() if hasattr(e, "as_dict") else e for e in unsaved]
        )
        storage = self.storage
        media_files = purge_media(storage.media_dir, paths=sorted(media_paths))
        counts = self._purge_deliveries(storage, wamids=sorted(message_ids), sender_digits=_digits(sender_id))
        return ForgottenConversation(
            events, media_files, counts["dedup_records"], counts["pending_messages"]
        )

    @staticmethod
    def _purge_deliveries(storage: WhatsAppStorage, **criteria: Any) -> Dict[Text, int]:
        if storage.dedup_redis_url:
            return purge_redis(storage.dedup_redis_url, prefix=storage.dedup_redis_prefix, **criteria)
        return purge_sqlite(storage.dedup_sqlite_path, **criteria)

    def purge_older_than(self, before: float) -> Dict[Text, int]:
        """Retention: deletes conversations idle since ``before`` and older past sessions.

        A conversation whose last event is older than the limit goes whole. Of the others,
        only events before both the limit and their latest ``session_started`` go: the save
        counts the stored events of the latest session, which must stay as they are.
        """
        params = {"before": before, "session": SessionStarted.type_name}
        idle = (
            "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :before"
        )
        with self.session_scope() as session:
            conversations = session.execute(
                sa.text(f"SELECT COUNT(*) FROM ({idle}) AS idle"), params
            ).scalar()
            events = session.execute(
                sa.text(f"DELETE FROM events WHERE sender_id IN ({idle})"), params
            ).rowcount
            events += session.execute(
                sa.text(
                    "DELETE FROM events WHERE timestamp < :before AND timestamp < ("
                    " SELECT MAX(latest.timestamp) FROM events AS latest"
                    " WHERE latest.sender_id = events.sender_id AND latest.type_name = :session)"
                ),
                params,
            ).rowcount
            session.commit()
        return {"conversations": int(conversations or 0), "events": int(events or 0)}
