"""What a restart can recover of a turn from the conversation's tracker.

A message accepted before a crash stays pending and is replayed at the next
start. Rasa saves the tracker at the end of its turn and the connector sends the
buffered answer after that, so a crash in between leaves a turn that Rasa has
already taken but whose answer may never have reached the citizen. Running Rasa
again would record the citizen's message twice and answer twice; the answer is
already in the tracker, as the bot messages that follow the message.
"""
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa.shared.core.events import BotUttered, Event, UserUttered


def recorded_answer(events: Sequence[Event], message_id: Text) -> Optional[List[Dict[Text, Any]]]:
    """The bot messages Rasa recorded for the user message ``message_id``.

    ``None`` when the tracker has no such message (Rasa never took the turn);
    a list, possibly empty, when it does.
    """
    answer: Optional[List[Dict[Text, Any]]] = None
    for event in events:
        if isinstance(event, UserUttered):
            if answer is not None:
                break  # the next message of the citizen: that turn's answer is complete
            if event.message_id == message_id:
                answer = []
        elif answer is not None and isinstance(event, BotUttered):
            answer.append(event.message())
    return answer
