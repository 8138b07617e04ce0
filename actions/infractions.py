"""Traffic fines (infracciones) by plate or DNI, and the libre deuda certificate.

Flow: privacy notice accepted once (the slot persists) → plate or DNI → each fine, the total
and how to pay or dispute; no fines or none pending → offer the certificate, which arrives
as a document over WhatsApp and as a link over REST.
"""
import logging
from decimal import Decimal
from typing import Any, Dict, List, Optional, Text
from urllib.parse import urljoin

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.base import (
    RETRY_SLOT,
    REQUESTED_SLOT,
    FlowAction,
    FlowFormValidation,
    idempotency_key,
    rate_limited,
    reset,
)
from actions.rate_limits import LOOKUP
from actions.clients.errors import Conflict, InvalidRequest, NotFound, ServiceError, ServiceUnavailable
from actions.clients.infractions import Certificate, Infraction, InfractionsClient

logger = logging.getLogger(__name__)

PRIVACY_SLOT = "privacy_accepted"
SUBJECT_SLOT = "infractions_subject"
GOAL_SLOT = "infractions_goal"
LAST_SUBJECT_SLOT = "infractions_last_subject"
GOAL_CERTIFICATE = "certificate"
MAX_LISTED = 5
STATUSES = ("pending", "paid", "disputed")


class ValidateInfractionsForm(FlowFormValidation):
    def name(self) -> Text:
        return "validate_infractions_form"

    async def extract_infractions_subject(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        """A certificate asked right after a lookup reuses the plate or DNI just checked,
        and the consent just given for it. Any other lookup shows the privacy notice
        again: consent is per lookup (privacy_accepted is reset when each one ends)."""
        if (
            tracker.get_slot(SUBJECT_SLOT) is None
            and tracker.get_slot(GOAL_SLOT) == GOAL_CERTIFICATE
            and tracker.get_slot(LAST_SUBJECT_SLOT)
        ):
            return {SUBJECT_SLOT: tracker.get_slot(LAST_SUBJECT_SLOT), PRIVACY_SLOT: True}
        return {}

    async def validate_privacy_accepted(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if value is True:
            return self.accept(PRIVACY_SLOT, True)
        dispatcher.utter_message(response="utter_privacy_declined")
        return {PRIVACY_SLOT: None, REQUESTED_SLOT: None}

    async def validate_infractions_subject(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        parsed = parsing.parse_vehicle_or_person(str(value or ""))
        if parsed is None:
            return self.reject(SUBJECT_SLOT, dispatcher, tracker)
        return self.accept(SUBJECT_SLOT, parsed[1])


def _subject_kwargs(subject: Text) -> Dict[Text, Text]:
    return {parsing.identifier_kind(subject): subject}


class ActionLookUpInfractions(FlowAction):
    """Submit of infractions_form: lists the fines or issues the libre deuda certificate."""

    def __init__(self, client: Optional[InfractionsClient] = None) -> None:
        self._client = client or InfractionsClient.from_env()

    def name(self) -> Text:
        return "action_look_up_infractions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        subject = tracker.get_slot(SUBJECT_SLOT)
        if tracker.get_slot(PRIVACY_SLOT) is not True or not subject:
            # the form ended without the data (privacy declined, too many invalid answers)
            return reset(SUBJECT_SLOT, GOAL_SLOT, PRIVACY_SLOT)
        if await rate_limited(dispatcher, tracker, LOOKUP):
            return reset(SUBJECT_SLOT, GOAL_SLOT, RETRY_SLOT, PRIVACY_SLOT)
        if tracker.get_slot(GOAL_SLOT) == GOAL_CERTIFICATE:
            return await self._certificate(dispatcher, tracker, subject)
        try:
            fines = await self.call(self._client.find, **_subject_kwargs(subject))
        except NotFound:
            fines = []
        except InvalidRequest:
            dispatcher.utter_message(response="utter_invalid_infractions_subject")
            return reset(SUBJECT_SLOT, GOAL_SLOT, RETRY_SLOT, PRIVACY_SLOT)
        except ServiceUnavailable as error:
            return self.offer_retry(dispatcher, error=error)
        except ServiceError as error:
            return self.unexpected(dispatcher, error)
        self._tell_fines(dispatcher, subject, fines)
        return [SlotSet(LAST_SUBJECT_SLOT, subject), *reset(SUBJECT_SLOT, GOAL_SLOT, RETRY_SLOT, PRIVACY_SLOT)]

    def _tell_fines(
        self, dispatcher: CollectingDispatcher, subject: Text, fines: List[Infraction]
    ) -> None:
        pending = [fine for fine in fines if fine.status == "pending"]
        if not fines:
            dispatcher.utter_message(response="utter_no_infractions", subject=subject)
            dispatcher.utter_message(response="utter_offer_certificate")
            return
        total = parsing.format_amount(sum((f.amount for f in pending), Decimal(0)))
        if len(fines) > MAX_LISTED:
            next_due = min((f.due_date for f in pending), default=None)
            dispatcher.utter_message(
                response="utter_infractions_summary",
                subject=subject,
                count=len(fines),
                pending_count=len(pending),
                total=total,
                next_due=parsing.format_date(next_due) if next_due else "-",
            )
        else:
            for fine in sorted(fines, key=lambda f: f.date):
                status = fine.status if fine.status in STATUSES else "pending"
                dispatcher.utter_message(
                    response=f"utter_infraction_item_{status}",
                    date=parsing.format_datetime(fine.date),
                    place=fine.place,
                    reason=fine.reason,
                    amount=parsing.format_amount(fine.amount),
                    due_date=parsing.format_date(fine.due_date),
                )
            dispatcher.utter_message(
                response="utter_infractions_total" if pending else "utter_infractions_all_settled",
                subject=subject,
                count=len(fines),
                pending_count=len(pending),
                total=total,
            )
        if pending:
            dispatcher.utter_message(response="utter_infractions_how_to_pay")
        else:
            dispatcher.utter_message(response="utter_offer_certificate")

    async def _certificate(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, subject: Text
    ) -> List[EventType]:
        try:
            certificate: Certificate = await self.call(
                self._client.issue_certificate,
                **_subject_kwargs(subject),
                idempotency_key=idempotency_key(tracker, "action_issue_certificate", subject),
            )
        except Conflict:
            dispatcher.utter_message(response="utter_certificate_debt_pending", subject=subject)
            return [SlotSet(LAST_SUBJECT_SLOT, subject), *reset(SUBJECT_SLOT, GOAL_SLOT, RETRY_SLOT, PRIVACY_SLOT)]
        except (NotFound, InvalidRequest):
            dispatcher.utter_message(response="utter_invalid_infractions_subject")
            return reset(SUBJECT_SLOT, GOAL_SLOT, RETRY_SLOT, PRIVACY_SLOT)
        except ServiceUnavailable as error:
            return self.offer_retry(dispatcher, error=error)
        except ServiceError as error:
            return self.unexpected(dispatcher, error)
        link = certificate.pdf_url
        if not link.startswith(("http://", "https://")):
            link = urljoin(self._client.base_url + "/", link.lstrip("/"))
        dispatcher.utter_message(
            response="utter_certificate_issued",
            certificate_code=certificate.code,
            certificate_link=link,
            certificate_filename=f"libre-deuda-{certificate.code}.pdf",
            issued_at=parsing.format_datetime(certificate.issued_at),
        )
        return [SlotSet(LAST_SUBJECT_SLOT, subject), *reset(SUBJECT_SLOT, GOAL_SLOT, RETRY_SLOT, PRIVACY_SLOT)]
