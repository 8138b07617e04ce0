"""The data linter: the clean tiny project passes; each rule fails on its own fixture."""
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from tests.trainers.conftest import FIXTURES
from trainers import lint as lint_module
from trainers.lint import RULES, below_minimum, lint, looks_spanish
from trainers.project import load_project
from trainers.topics import load_topics

MINIMUMS = {"conversation": 5, "services": 10, "civil_defense": 10}
LINT_FIXTURES = sorted((FIXTURES / "lint").glob("*.yml"))


def apply_fixture(project: Path, spec: Dict[str, Any]) -> None:
    """Merge the fixture's domain part into domain.yml and write its data and raw files."""
    if spec.get("domain"):
        domain_file = project / "domain.yml"
        domain = yaml.safe_load(domain_file.read_text(encoding="utf-8"))
        for key, value in spec["domain"].items():
            if isinstance(value, list):
                domain.setdefault(key, []).extend(value)
            else:
                domain.setdefault(key, {}).update(value)
        domain_file.write_text(yaml.safe_dump(domain, allow_unicode=True), encoding="utf-8")
    if spec.get("data"):
        data = {"version": "3.1", **spec["data"]}
        (project / "data" / "lint_fixture.yml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    for name, content in (spec.get("files") or {}).items():
        (project / name).write_text(content, encoding="utf-8")


def test_the_clean_tiny_project_passes_every_rule(tiny_project):
    assert lint(load_project(tiny_project), MINIMUMS) == []


def test_every_rule_has_a_failing_fixture():
    assert {path.stem.split("-")[0] for path in LINT_FIXTURES} == set(RULES)


@pytest.mark.parametrize("fixture", LINT_FIXTURES, ids=lambda path: path.stem)
def test_each_rule_fails_on_its_fixture(tiny_project, fixture):
    spec = yaml.safe_load(fixture.read_text(encoding="utf-8"))
    rule = fixture.stem.split("-")[0]
    apply_fixture(tiny_project, spec)

    problems = lint(load_project(tiny_project), MINIMUMS)

    assert {p.rule for p in problems} == {rule, *spec.get("also", [])}, problems
    messages = [p.message for p in problems if p.rule == rule]
    assert any(spec["expect"] in m for m in messages), f"{spec['expect']!r} not in {messages}"


def test_minimums_are_configurable(tiny_project):
    project = load_project(tiny_project)
    rows = below_minimum(project, {"conversation": 6, "services": 11, "civil_defense": 10},
                         load_topics())
    # inform has 6 examples; the other conversation topics 5; infractions and vtv 10 each.
    assert {(r["topic"], r["count"], r["minimum"]) for r in rows} == {
        ("greet", 5, 6), ("goodbye", 5, 6), ("human_handoff", 5, 6), ("out_of_scope", 5, 6),
        ("infractions", 10, 11), ("vtv", 10, 11),
    }


def test_cli_lists_the_problems_in_spanish_and_exits_non_zero(tiny_project, capsys):
    apply_fixture(tiny_project, yaml.safe_load((FIXTURES / "lint" / "contract.yml").read_text()))
    code = lint_module.main(["--proyecto", str(tiny_project), "--minimo-servicio", "10",
                             "--minimo-conversacion", "5"])
    output = capsys.readouterr().out
    assert code == 1
    assert "Revisión de los datos de entrenamiento (1 problemas)" in output
    assert "[contract]" in output and "«parking_info»" in output


def test_cli_exits_zero_on_clean_data(tiny_project, capsys):
    code = lint_module.main(["--proyecto", str(tiny_project), "--minimo-servicio", "10",
                             "--minimo-conversacion", "5"])
    assert code == 0
    assert "Los datos de entrenamiento están bien" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, spanish",
    [
        ("¡Hola! Soy Vecino, ¿en qué te puedo ayudar?", True),
        ("Podés sacar el turno en buenosaires.gob.ar", True),
        ("Listo ✅", True),
        ("Tu reclamo {ticket} quedó registrado", True),
        ("🚲 Bicis: {bikes} · 🅿️ Lugares libres: {docks}", True),
        ("Monto: {amount}", True),
        ("Thanks for your message", False),
        ("Hello, how can I help you?", False),
        ("Your request was registered, thanks", False),
    ],
)
def test_spanish_heuristic(text, spanish):
    assert looks_spanish(text) is spanish
