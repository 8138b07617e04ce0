"""How the FallbackClassifier threshold trades understood messages for avoided mistakes.

Parses the held-out split once with a trained model, then replays the FallbackClassifier's rule
(top intent below the threshold, or the top two closer than the ambiguity threshold) for several
thresholds. A message sent to nlu_fallback counts as not understood, as it does for a citizen and
for anyone measuring the assistant by topic. Predictions are compared by contract topic, so
`appointments_book` answers a message labelled `appointments`.

    python -m bench.fallback_threshold [--model models/….tar.gz]

Figures are printed, never asserted: record them in docs/benchmarks.md.
"""
import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Text, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ROOT.parent / "shared" / "contract" / "topics.yml"
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def held_out(path: Path) -> List[Tuple[Text, Text]]:
    rows = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        for line in block.get("examples", "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                rows.append((block["intent"], ANNOTATION.sub(r"\1", line[2:])))
    return rows


def topic_of(intent: Text, topics: Sequence[Text]) -> Text:
    base = intent.split("/")[0]
    return next((t for t in topics if base == t or base.startswith(t + "_")), base)


def newest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("No model in models/: run `make train` first.")
    return models[-1]


async def rankings(model: Path, texts: Sequence[Text]) -> List[List[Dict]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    result = []
    for text in texts:
        parsed = await agent.parse_message(text)
        result.append([i for i in parsed["intent_ranking"] if i["name"] != "nlu_fallback"])
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--nlu", type=Path, default=ROOT / "tests" / "nlu" / "test_nlu.yml")
    parser.add_argument("--ambiguity", type=float, default=0.05)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5])
    args = parser.parse_args(argv)

    contract = yaml.safe_load(TOPICS.read_text(encoding="utf-8"))
    topics = sorted((t for group in contract.values() for t in group), key=len, reverse=True)
    rows = held_out(args.nlu)
    model = args.model or newest_model()
    ranked = asyncio.run(rankings(model, [text for _, text in rows]))

    print(f"model: {model.name}   messages: {len(rows)}   ambiguity threshold: {args.ambiguity}")
    print(f"{'threshold':>9} {'understood':>10} {'accuracy':>8} {'to fallback':>11} {'wrong':>6}")
    for threshold in args.thresholds:
        right = fallback = wrong = 0
        for (label, _), ranking in zip(rows, ranked):
            top = ranking[0]
            margin = top["confidence"] - (ranking[1]["confidence"] if len(ranking) > 1 else 0.0)
            if threshold > 0 and (top["confidence"] < threshold or margin < args.ambiguity):
                fallback += 1
            elif topic_of(top["name"], topics) == topic_of(label, topics):
                right += 1
            else:
                wrong += 1
        print(f"{threshold:9.2f} {right:10d} {right / len(rows):8.3f} {fallback:11d} {wrong:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
