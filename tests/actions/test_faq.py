import pytest

from actions.faq import ActionAnswerFaq, faq_response

RESPONSES = {"utter_vtv/overview": [{"text": "..."}], "utter_vtv/appointment": [{"text": "..."}]}


def selected(topic, utter):
    return {topic: {"response": {"utter_action": utter, "confidence": 0.9}}}


def test_answer_chosen_by_the_response_selector():
    parse = {"intent": {"name": "vtv"}, "response_selector": selected("vtv", "utter_vtv/appointment")}
    assert faq_response(parse, RESPONSES) == "utter_vtv/appointment"


def test_default_selector_key_is_used_when_topic_key_missing():
    parse = {"intent": {"name": "vtv"}, "response_selector": selected("default", "utter_vtv/appointment")}
    assert faq_response(parse, RESPONSES) == "utter_vtv/appointment"


@pytest.mark.parametrize(
    "parse",
    [
        {"intent": {"name": "vtv"}},  # a "/vtv" button payload: no selection at all
        {"intent": {"name": "vtv"}, "response_selector": selected("vtv", "utter_vtv/removed")},
    ],
)
def test_overview_when_nothing_usable_was_selected(parse):
    assert faq_response(parse, RESPONSES) == "utter_vtv/overview"


def test_no_answer_for_unknown_topic():
    assert faq_response({"intent": {"name": "nothing"}}, RESPONSES) is None
    assert faq_response({}, RESPONSES) is None


async def test_every_faq_topic_has_an_overview_answer(dispatcher, tracker_factory, domain):
    topics = [
        "ecobici", "linea_144", "disfrutemos_ba", "vamos_los_vecinos", "education", "vtv", "crime_map",
        "ba_playa", "credits", "garantia_ba", "teacher_registration", "study_certificates", "plan_sarmiento",
    ]
    for topic in topics:
        dispatcher.messages.clear()
        await ActionAnswerFaq().run(dispatcher, tracker_factory(text=f"/{topic}", intent=topic), domain)
        assert [m["response"] for m in dispatcher.messages] == [f"utter_{topic}/overview"], topic


async def test_unknown_topic_asks_to_rephrase(dispatcher, tracker_factory, domain):
    await ActionAnswerFaq().run(dispatcher, tracker_factory(text="?", intent="nothing"), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_rephrase"]
