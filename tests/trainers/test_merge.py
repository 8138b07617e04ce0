"""Merging a labelled inbox into the training data, including the refused labels."""
import csv
from pathlib import Path

import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from trainers import merge as merge_module
from trainers.lint import lint
from trainers.project import load_project

MINIMUMS = {"conversation": 5, "services": 10, "civil_defense": 10}


def write_inbox(path: Path, groups) -> Path:
    path.write_text(
        yaml.safe_dump({"desde": "2026-11-22", "hasta": "2026-11-22", "grupos": groups},
                       allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


def message(text, label=""):
    return {"texto": text, "intencion": label, "veces": 1, "personas": 1,
            "predicha": "nlu_fallback", "confianza": 0.2, "motivo": "baja confianza"}


def run_merge(project: Path, inbox: Path, capsys):
    target = project / "data" / "nlu" / "inbox" / "2026-11-23.yml"
    code = merge_module.main([str(inbox), "--proyecto", str(project), "--destino", str(target)])
    return code, capsys.readouterr().out, target


def test_labelled_messages_are_merged_in_rasa_format(tiny_project, tmp_path, capsys):
    inbox = write_inbox(tmp_path / "inbox.yml", [
        {"grupo": 1, "intencion": "vtv/appointment", "prediccion": "vtv", "mensajes": [
            message("necesito turno para verificar la camioneta"),
            message("cuándo abre la planta de vtv", "vtv/overview"),  # own label wins
        ]},
        {"grupo": 2, "intencion": "infractions", "prediccion": None, "mensajes": [
            message("tengo multas con la patente <PATENTE>?"),
            message("hola soy <TELEFONO>", "-"),  # ignored
        ]},
        {"grupo": 3, "intencion": "", "prediccion": None, "mensajes": [message("asdasd")]},
    ])

    code, output, target = run_merge(tiny_project, inbox, capsys)

    assert code == 0, output
    merged = RasaYAMLReader().read(str(target))
    pairs = {(m.get("text"), m.get("intent_response_key") or m.get("intent"))
             for m in merged.intent_examples}
    assert pairs == {
        ("necesito turno para verificar la camioneta", "vtv/appointment"),
        ("cuándo abre la planta de vtv", "vtv/overview"),
        ("tengo multas con la patente AB 123 CD?", "infractions"),
    }
    plate_example = next(m for m in merged.intent_examples if "AB 123 CD" in m.get("text"))
    assert [(e["entity"], e["value"]) for e in plate_example.get("entities")] == [
        ("plate", "AB 123 CD")]
    assert "Resumen: 3 agregados, 0 ya estaban, 0 rechazados, 2 sin etiqueta." in output
    # The merged data is still clean for the linter.
    assert lint(load_project(tiny_project), MINIMUMS) == []


def test_refused_labels_are_reported_and_not_merged(tiny_project, tmp_path, capsys):
    inbox = write_inbox(tmp_path / "inbox.yml", [
        {"grupo": 1, "intencion": "", "prediccion": None, "mensajes": [
            message("dónde estaciono el auto", "parking"),  # not an intent
            message("la vtv", "vtv"),  # retrieval base without the question
            message("Hola", "goodbye"),  # already an example of greet
            message("me quiero ir", "goodbye"),  # conflicting labels in the file...
            message("me quiero ir!", "stop"),  # ...(and stop is not in the tiny domain)
            message("vivo en [Recoleta](neighbourhood)", "inform"),  # unknown entity
            message("chau chau nos vemos", "goodbye"),  # fine
        ]},
    ])

    code, output, target = run_merge(tiny_project, inbox, capsys)

    assert code == 1
    assert ("Rechazado: «dónde estaciono el auto» → «parking» no es una intención del dominio."
            in output)
    assert ("«vtv» es un tema de preguntas frecuentes; elegí la pregunta, por ejemplo "
            "vtv/appointment, vtv/overview") in output
    assert "Rechazado: «Hola» ya es un ejemplo de greet" in output
    assert ("Rechazado: «me quiero ir» aparece en el archivo con dos intenciones distintas "
            "(goodbye, stop).") in output
    assert "«stop» no es una intención del dominio" in output
    assert "marca la entidad «neighbourhood», que no está en el dominio" in output
    assert "Resumen: 1 agregados, 0 ya estaban, 6 rechazados, 0 sin etiqueta." in output
    merged = RasaYAMLReader().read(str(target))
    assert [(m.get("text"), m.get("intent")) for m in merged.intent_examples] == [
        ("chau chau nos vemos", "goodbye")]


def test_merging_twice_keeps_one_copy(tiny_project, tmp_path, capsys):
    inbox = write_inbox(tmp_path / "inbox.yml", [
        {"grupo": 1, "intencion": "greet", "prediccion": None,
         "mensajes": [message("buenas buenas")]},
    ])
    run_merge(tiny_project, inbox, capsys)
    code, output, target = run_merge(tiny_project, inbox, capsys)
    assert code == 0
    assert "Ya estaba: «buenas buenas» en greet" in output
    assert "No se agregó ningún ejemplo." in output
    assert target.read_text(encoding="utf-8").count("buenas buenas") == 1


def test_csv_inbox_is_merged(tiny_project, tmp_path, capsys):
    path = tmp_path / "inbox.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["grupo", "intencion", "texto", "veces"])
        writer.writeheader()
        writer.writerow({"grupo": 1, "intencion": "out_of_scope", "texto": "quién canta mejor",
                         "veces": 2})
        writer.writerow({"grupo": 1, "intencion": "", "texto": "sin etiqueta", "veces": 1})
    code, output, target = run_merge(tiny_project, path, capsys)
    assert code == 0
    merged = RasaYAMLReader().read(str(target))
    assert [(m.get("text"), m.get("intent")) for m in merged.intent_examples] == [
        ("quién canta mejor", "out_of_scope")]


def test_a_file_that_is_not_an_inbox_is_refused(tiny_project, tmp_path, capsys):
    path = tmp_path / "otra.yml"
    path.write_text("nlu: []\n", encoding="utf-8")
    code, output, _ = run_merge(tiny_project, path, capsys)
    assert code == 2 and "No entiendo el archivo" in output
