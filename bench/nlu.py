"""NLU benchmark: trains each pipeline, evaluates it on the held-out split and by k-fold
cross-validation, and prints intent accuracy, macro-F1, training time and model size.

    python -m bench.nlu                         # config.yml, held-out + 5-fold CV
    python -m bench.nlu --configs config.yml bench/configs/no_spacy_features.yml --folds 0

Figures are printed, never asserted: record them in docs/benchmarks.md with the machine.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")


@dataclass(frozen=True)
class Figures:
    config: str
    train_seconds: float
    model_mb: float
    heldout_accuracy: float
    heldout_macro_f1: float
    cv_accuracy: Optional[float]
    cv_macro_f1: Optional[float]


def run(*args: str) -> None:
    subprocess.run([RASA, *args, "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def intent_scores(report_path: Path) -> tuple:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return report["accuracy"], report["macro avg"]["f1-score"]


def cross_validation_scores(config: str, folds: int, out: Path) -> tuple:
    run("test", "nlu", "--nlu", "data/nlu", "--config", config, "--cross-validation", "--folds", str(folds),
        "--out", str(out), "--no-plot")
    return intent_scores(out / "intent_report.json")


def measure(config: str, folds: int, work: Path) -> Figures:
    models = work / "models"
    started = time.perf_counter()
    run("train", "nlu", "--config", config, "--nlu", "data/nlu", "--out", str(models), "--fixed-model-name", "bench")
    train_seconds = time.perf_counter() - started
    model = models / "bench.tar.gz"
    run("test", "nlu", "--model", str(model), "--nlu", "tests/nlu/test_nlu.yml", "--out", str(work / "heldout"), "--no-plot")
    accuracy, macro_f1 = intent_scores(work / "heldout" / "intent_report.json")
    cv = cross_validation_scores(config, folds, work / "cv") if folds > 1 else (None, None)
    return Figures(config, train_seconds, model.stat().st_size / 1e6, accuracy, macro_f1, *cv)


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {memory_gb:.0f} GiB, Python {platform.python_version()}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["config.yml"])
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (0 to skip)")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"{'config':40} {'train s':>8} {'MB':>6} {'held-out acc':>12} {'held-out F1':>11} {'CV acc':>7} {'CV F1':>6}")
    for config in args.configs:
        with tempfile.TemporaryDirectory() as work:
            f = measure(config, args.folds, Path(work))
        cv = f"{f.cv_accuracy:7.3f} {f.cv_macro_f1:6.3f}" if f.cv_accuracy is not None else f"{'-':>7} {'-':>6}"
        print(f"{f.config:40} {f.train_seconds:8.0f} {f.model_mb:6.1f} {f.heldout_accuracy:12.3f} {f.heldout_macro_f1:11.3f} {cv}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
