"""trainers.model: one model per set of training inputs, reused instead of retrained."""
import shutil
from pathlib import Path
from typing import Tuple

from trainers import model as model_module
from trainers.model import Inputs, ensure_model, fingerprint, model_path


def test_the_fingerprint_follows_every_input(tiny_project: Path) -> None:
    inputs = Inputs.of_project(tiny_project)
    before = fingerprint(inputs)
    assert fingerprint(Inputs.of_project(tiny_project)) == before
    with (tiny_project / "data" / "nlu.yml").open("a", encoding="utf-8") as data:
        data.write("    - una frase nueva\n")
    assert fingerprint(inputs) != before
    other_config = tiny_project / "config-other.yml"
    shutil.copy(tiny_project / "config.yml", other_config)
    assert fingerprint(Inputs.of_project(tiny_project, other_config)) != fingerprint(inputs)


def with_model(project: Path, content: bytes) -> Tuple[Inputs, Path, Path]:
    """The project's inputs, its models/ folder, and a model archive of those inputs in it."""
    inputs = Inputs.of_project(project)
    models = project / "models"
    models.mkdir()
    existing = model_path(inputs, models)
    existing.write_bytes(content)
    return inputs, models, existing


def test_an_existing_model_of_these_inputs_is_reused_without_training(tiny_project: Path, monkeypatch) -> None:
    inputs, models, existing = with_model(tiny_project, b"a model archive")

    def must_not_train(*_):
        raise AssertionError("trained although the model of these inputs exists")

    monkeypatch.setattr(model_module, "train_model", must_not_train)
    assert ensure_model(inputs, models) == (existing, False)


def test_changed_inputs_train_a_model_under_the_new_name(tiny_project: Path, monkeypatch) -> None:
    inputs, models, old = with_model(tiny_project, b"the old data's model")
    (tiny_project / "data" / "nlu.yml").write_text(
        (tiny_project / "data" / "nlu.yml").read_text(encoding="utf-8") + "    - otra frase\n", encoding="utf-8"
    )
    trained = []

    def fake_train(given: Inputs, where: Path) -> Path:  # Rasa's training is tested by the suite's train step
        target = model_path(given, where)
        target.write_bytes(b"new")
        trained.append(target)
        return target

    monkeypatch.setattr(model_module, "train_model", fake_train)
    path, was_trained = ensure_model(inputs, models)
    assert was_trained and trained == [path]
    assert path == model_path(inputs, models) != old
    assert path.read_bytes() == b"new" and old.read_bytes() == b"the old data's model"


def test_the_command_prints_the_models_path_last(tiny_project: Path, capsys) -> None:
    _, _, existing = with_model(tiny_project, b"a model archive")

    assert model_module.main(["--proyecto", str(tiny_project)]) == 0

    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == str(existing)
    assert "Uso el modelo" in out.err
