"""Fails when the intent macro-F1 of an NLU evaluation is below a threshold.

Reads the intent_report.json that `rasa test nlu` writes and prints the intents that pull the
average down, so a failing CI run says where to add training examples.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def weakest_intents(report: Dict, count: int = 8) -> List[Tuple[str, float]]:
    scores = [(name, values["f1-score"]) for name, values in report.items() if name not in SUMMARY_KEYS]
    return sorted(scores, key=lambda item: item[1])[:count]


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", type=Path)
    parser.add_argument("--min-macro-f1", type=float, required=True)
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    macro_f1 = report["macro avg"]["f1-score"]
    print(f"intent accuracy {report['accuracy']:.3f}, macro-F1 {macro_f1:.3f} (minimum {args.min_macro_f1:.2f})")
    print("weakest intents: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in weakest_intents(report)))
    return 0 if macro_f1 >= args.min_macro_f1 else 1


if __name__ == "__main__":
    sys.exit(main())
