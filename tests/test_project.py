"""Consistency of the project's configuration, domain and action server (CONVENTIONS.md §13)."""
from pathlib import Path

import pytest
import yaml
from rasa.engine import validation
from rasa.engine.recipes.recipe import Recipe
from rasa.shared.data import TrainingType
from rasa.shared.importers.importer import TrainingDataImporter
from rasa_sdk.executor import ActionExecutor

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "config",
    ["config.yml", "config-md.yml"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bench" / "configs").glob("*.yml")),
)
def test_pipeline_configuration_is_a_valid_rasa_graph(config):
    importer = TrainingDataImporter.load_from_config(
        str(ROOT / config), str(ROOT / "domain.yml"), [str(ROOT / "data")]
    )
    recipe = Recipe.recipe_for_name(importer.get_config().get("recipe"))
    model_config = recipe.graph_config_for_recipe(importer.get_config(), {}, training_type=TrainingType.BOTH)
    # Raises with the offending component when a name, a parameter or a dependency is wrong.
    validation.validate(model_config)


def test_configs_differ_only_in_the_spacy_model():
    small = yaml.safe_load((ROOT / "config.yml").read_text())
    medium = yaml.safe_load((ROOT / "config-md.yml").read_text())
    assert small["pipeline"][0] == {"name": "SpacyNLP", "model": "es_core_news_sm"}
    assert medium["pipeline"][0] == {"name": "SpacyNLP", "model": "es_core_news_md"}
    assert small["pipeline"][1:] == medium["pipeline"][1:]
    assert small["policies"] == medium["policies"]


def test_action_server_registers_exactly_the_domain_actions():
    executor = ActionExecutor()
    executor.register_package("actions")
    registered = {name for name in executor.actions if name.startswith(("action_", "validate_"))}
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    declared = {name for name in domain.get("actions") or [] if name.startswith(("action_", "validate_"))}
    assert registered == declared, (
        f"only in actions/: {sorted(registered - declared)}; only in domain.yml: {sorted(declared - registered)}"
    )
