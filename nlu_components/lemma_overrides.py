"""Corrects the lemmas spaCy's small Spanish model gets wrong, before the featurizers count them.

The word-level CountVectorsFeaturizer counts lemmas (``use_lemma``), so a wrong lemma hides a word
the training data teaches: spaCy lemmatises a lone "sí" as "él" (it reads the reflexive pronoun),
and a typed "sí" lost its meaning of yes. The corrections are data (``lemma_overrides.yml``), so a
trainer who finds another such word adds a line there. Runs after the tokenizer, on training data
and on every message alike.
"""
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DEFAULT_OVERRIDES = Path(__file__).with_name("lemma_overrides.yml")


def load_overrides(path: Path = DEFAULT_OVERRIDES) -> Dict[Text, Text]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(entries, dict):
        raise ValueError(f"{path} must map words to lemmas")
    return {str(word).lower(): str(lemma) for word, lemma in entries.items()}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class LemmaOverrides(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"overrides_file": None}

    def __init__(self, overrides: Mapping[Text, Text]) -> None:
        self._overrides = dict(overrides)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LemmaOverrides":
        path = config.get("overrides_file")
        return cls(load_overrides(Path(path) if path else DEFAULT_OVERRIDES))

    def _correct(self, message: Message) -> None:
        for token in message.get(TOKENS_NAMES[TEXT]) or []:
            lemma = self._overrides.get(token.text.lower())
            if lemma is not None:
                token.lemma = lemma

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._correct(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._correct(message)
        return messages
