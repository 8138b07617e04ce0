import spacy
import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.lemma_overrides import LemmaOverrides, load_overrides


def _message(*tokens: Token) -> Message:
    message = Message(data={TEXT: " ".join(t.text for t in tokens)})
    message.set(TOKENS_NAMES[TEXT], list(tokens))
    return message


@pytest.fixture(scope="module")
def spanish():
    return spacy.load("es_core_news_sm")


def test_spacy_reads_a_lone_si_as_the_pronoun(spanish):
    # the reason for the component: if spaCy ever gets this right, the override can go
    assert [t.lemma_ for t in spanish("sí")] == ["él"]


def test_a_lone_si_keeps_its_own_lemma_in_messages_and_training_data():
    component = LemmaOverrides(load_overrides())
    live = _message(Token("Sí", 0, lemma="él"))
    example = _message(Token("sí", 0, lemma="él"))
    component.process([live])
    component.process_training_data(TrainingData([example]))
    assert [t.lemma for t in live.get(TOKENS_NAMES[TEXT])] == ["sí"]
    assert [t.lemma for t in example.get(TOKENS_NAMES[TEXT])] == ["sí"]


def test_other_tokens_and_messages_without_tokens_are_untouched():
    component = LemmaOverrides({"sí": "sí"})
    message = _message(Token("quiero", 0, lemma="querer"), Token("turno", 7, lemma="turno"))
    bare = Message(data={TEXT: "hola"})
    component.process([message, bare])
    assert [t.lemma for t in message.get(TOKENS_NAMES[TEXT])] == ["querer", "turno"]
    assert bare.get(TOKENS_NAMES[TEXT]) is None


def test_an_overrides_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "overrides.yml"
    path.write_text("- sí\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_overrides(path)
