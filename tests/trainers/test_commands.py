"""Every tool runs as `python -m trainers.<name>` and explains itself in Spanish."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module, words",
    [
        ("inbox", "--desde"),
        ("merge", "bandeja etiquetada"),
        ("lint", "--minimo-servicio"),
        ("report", "Entrena si hace falta"),
        ("topics", "Revisa que cada intención"),
        ("masking", "Enmascara datos personales"),
    ],
)
def test_help_of_each_command(module, words):
    result = subprocess.run(
        [sys.executable, "-m", f"trainers.{module}", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert words in result.stdout


def test_masking_command_reads_standard_input():
    result = subprocess.run(
        [sys.executable, "-m", "trainers.masking"], cwd=ROOT, capture_output=True, text=True,
        input="mi dni es 30.123.456\n", timeout=60,
    )
    assert result.stdout == "mi dni es <DNI>\n"


def make_dry_run(*args):
    # `make -n` prints the recipe without running it; the `setup` prerequisite is printed too.
    result = subprocess.run(
        ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    return result


@pytest.mark.parametrize(
    "args, expected",
    [
        (["inbox", "DESDE=2026-11-22", "HASTA=2026-11-23", "UMBRAL=0.7"],
         "-m trainers.inbox --desde 2026-11-22 --hasta 2026-11-23 --umbral 0.7"),
        (["inbox", "SALIDA=inbox/ayer.csv"], "-m trainers.inbox --salida inbox/ayer.csv"),
        (["merge", "ARCHIVO=inbox/a.yml"], "-m trainers.merge inbox/a.yml"),
        (["report", "MODELO=models/m.tar.gz"], "-m trainers.report --modelo models/m.tar.gz"),
        (["lint-data"], "-m trainers.lint"),
    ],
)
def test_makefile_targets_a_trainer_remembers(args, expected):
    result = make_dry_run(*args)
    assert result.returncode == 0, result.stderr
    # recipe lines continued with a backslash are one command
    assert expected in " ".join(result.stdout.replace("\\\n", " ").split())


def test_make_merge_without_a_file_says_how_to_call_it():
    result = subprocess.run(
        ["make", "--no-print-directory", "merge"], cwd=ROOT, capture_output=True, text=True,
        timeout=600,
    )
    assert result.returncode != 0
    assert "make merge ARCHIVO=" in result.stdout
