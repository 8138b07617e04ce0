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
