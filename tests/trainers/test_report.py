"""The HTML report: trained on the tiny project (train-if-needed), checked for its sections."""
import base64
import io
import os
import re
import shutil
import time
from pathlib import Path

import matplotlib.image

from tests.trainers.conftest import training_cache
from trainers import report as report_module
from trainers.project import load_project
from trainers.report import SECTIONS, Inputs, evaluate, find_model, too_similar


def html_of(project: Path) -> str:
    return (project / "reports" / "nlu" / "index.html").read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert match, f"section {name!r} missing from the report"
    return match.group(1)


def test_report_has_every_section(reported):
    html = html_of(reported)
    for name in SECTIONS:
        section(html, name)
    assert '<html lang="es">' in html and "Informe de entendimiento" in html


def test_report_is_self_contained_with_the_confusion_matrix_as_png(reported):
    html = html_of(reported)
    assert not re.search(r'(src|href)="(?!data:)', html), "the report links external files"
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', section(html, "matriz")).group(1)
    picture = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
    assert picture.shape[0] > 300 and picture.shape[1] > 300


def test_report_tables_match_rasas_evaluation(reported):
    model = next((reported / "models").glob("*.tar.gz"))
    evaluation = evaluate(model, reported / "tests" / "nlu" / "test_nlu.yml",
                          reported / "domain.yml")
    predictions = evaluation["intent_evaluation"]["predictions"]
    html = html_of(reported)
    table = section(html, "intenciones")
    for intent in {p["intent"] for p in predictions}:
        assert f"<td>{intent}</td>" in table
    confused = section(html, "confusiones")
    errors = [p for p in predictions if p["intent"] != p["predicted"]]
    for error in errors:
        assert f"<q>{error['text']}</q>" in confused
    if not errors:
        assert "Ningún mensaje de prueba se confundió" in confused
    accuracy = round(100 * (1 - len(errors) / len(predictions)))
    assert f"<b>{accuracy} %</b>" in section(html, "resumen")


def test_report_lists_topics_below_the_minimum(reported):
    few = section(html_of(reported), "pocos")
    # The tiny project has 10 vtv examples; the agreed minimum for a service is 40.
    assert re.search(r"<td>vtv</td><td class=\"num\">10</td><td class=\"num\">40</td>", few)


def test_second_run_reuses_the_model(reported, capsys):
    before = sorted((reported / "models").glob("*.tar.gz"))
    assert report_module.main(["--proyecto", str(reported)]) == 0
    assert "Uso el modelo" in capsys.readouterr().out
    assert sorted((reported / "models").glob("*.tar.gz")) == before


def test_a_rasa_trained_model_counts_only_when_newer_than_the_data(tiny_project):
    inputs = Inputs(tiny_project, tiny_project / "config.yml", tiny_project / "domain.yml",
                    tiny_project / "data")
    models = tiny_project / "models"
    models.mkdir()
    model = models / "20261123-190000-brave-lake.tar.gz"
    model.write_bytes(b"not read by find_model")
    assert find_model(inputs, models, check_cache=False) == model
    later = time.time() + 5
    os.utime(tiny_project / "data" / "nlu.yml", (later, later))
    assert find_model(inputs, models, check_cache=False) is None


def test_too_similar_examples_across_intents_are_found(tiny_project):
    extra = tiny_project / "data" / "similar.yml"
    extra.write_text('version: "3.1"\nnlu:\n- intent: vtv/overview\n  examples: |\n'
                     "    - turno para la vtv!\n", encoding="utf-8")
    pairs = too_similar(load_project(tiny_project), 0.9)
    assert [p["intents"] for p in pairs] == [("vtv/appointment", "vtv/overview")]
    assert {pairs[0]["first"], pairs[0]["second"]} == {"turno para la vtv", "turno para la vtv!"}


def test_a_rasa_trained_model_is_reused_when_rasas_cache_has_these_inputs(reported, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(reported, project, ignore=shutil.ignore_patterns("*.tar.gz"))
    (ours,) = (reported / "models").glob("*.tar.gz")
    theirs = project / "models" / "20261123-190000-brave-lake.tar.gz"  # as `rasa train` names it
    shutil.copy(ours, theirs)
    inputs = Inputs(project, project / "config.yml", project / "domain.yml", project / "data")
    with training_cache(reported.parent / "cache"):
        assert find_model(inputs, project / "models") == theirs
        (project / "data" / "more.yml").write_text(
            'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - buenas buenas\n',
            encoding="utf-8")
        os.utime(theirs, (time.time() + 60, time.time() + 60))  # still newer than the data
        assert find_model(inputs, project / "models") is None
