"""The NLU report trainers open in a browser: reports/nlu/index.html.

Trains if needed (reuses the model in models/ trained on exactly these inputs), evaluates it on
the held-out split tests/nlu/test_nlu.yml with Rasa's NLU test API, and writes one
self-contained HTML file: per-intent precision / recall / F1, the confusion matrix as an
embedded PNG, the most confused intent pairs with example messages, entity results, and the
intents with too few or too similar training examples.

Usage: python -m trainers.report [--modelo models/x.tar.gz] [--entrenar] [--salida ...]
"""
import argparse
import asyncio
import base64
import io
import logging
import os
import sys
import warnings
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import jinja2
import numpy as np

from trainers.lint import below_minimum
from trainers.messages import say
from trainers.model import MODEL_PREFIX, Inputs, model_path, train_model
from trainers.project import PROJECT_ROOT, Project, load_config, load_project
from trainers.similarity import similarity_matrix
from trainers.topics import load_topics

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SECTIONS = ("resumen", "intenciones", "matriz", "confusiones", "entidades", "pocos", "parecidos")


def _rasa_says_cached(inputs: Inputs, models: Path) -> bool:
    """Rasa's own dry run: every step of the training graph is in its training cache."""
    from rasa.model_training import train

    try:
        result = train(str(inputs.domain), str(inputs.config), [str(inputs.data)],
                       output=str(models), dry_run=True)
    except Exception as error:  # a dry run that fails just means "train"
        logger.debug("Dry run failed: %s", error)
        return False
    return result.code == 0


def find_model(inputs: Inputs, models: Path, check_cache: bool = True) -> Optional[Path]:
    """The newest model in ``models`` trained on exactly these inputs, if any.

    A model this tool trained carries the inputs' fingerprint in its name. A model trained by
    ``rasa train`` counts when it is newer than every input and Rasa's dry run finds nothing
    to retrain (the training cache holds these inputs).
    """
    if not models.is_dir():
        return None
    named = model_path(inputs, models)
    if named.is_file():
        return named
    candidates = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not candidates:
        return None
    newest = candidates[0]
    if newest.name.startswith(MODEL_PREFIX):
        return None  # trained by this tool on other inputs
    inputs_changed = max(p.stat().st_mtime for p in inputs.files())
    if newest.stat().st_mtime < inputs_changed:
        return None
    if check_cache and not _rasa_says_cached(inputs, models):
        return None
    return newest


def evaluate(model: Path, test_file: Path, domain: Path) -> Dict[str, Any]:
    """Rasa's NLU evaluation (intents, entities) of the model on the held-out file."""
    from rasa.core.agent import Agent
    from rasa.nlu.test import run_evaluation

    agent = Agent.load(str(model))
    return asyncio.run(
        run_evaluation(
            str(test_file), agent.processor, output_directory=None, disable_plotting=True,
            report_as_dict=True, domain_path=str(domain),
        )
    )


def confusion_png(labels: Sequence[str], matrix: np.ndarray) -> str:
    """The confusion matrix (rows: true intent, normalised per row) as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(6.0, 0.32 * len(labels) + 3)
    figure, axes = plt.subplots(figsize=(size, size * 0.9), dpi=110)
    totals = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)))
    axes.set_yticks(range(len(labels)))
    axes.set_xticklabels(labels, rotation=90, fontsize=8)
    axes.set_yticklabels(labels, fontsize=8)
    axes.set_xlabel("intención predicha")
    axes.set_ylabel("intención correcta")
    for row, column in zip(*np.nonzero(matrix)):
        colour = "white" if normalised[row, column] > 0.6 else "black"
        axes.text(column, row, str(matrix[row, column]), ha="center", va="center",
                  fontsize=7, color=colour)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def confused_pairs(predictions: List[Dict[str, Any]], limit: int, per_pair: int) -> List[Dict]:
    """The (true, predicted) intent pairs that happen most, with some of their messages."""
    pairs: Dict[Tuple[str, str], List[Dict[str, Any]]] = defaultdict(list)
    for prediction in predictions:
        if prediction["intent"] != prediction["predicted"]:
            pairs[(prediction["intent"], str(prediction["predicted"]))].append(prediction)
    ranked = sorted(pairs.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    return [
        {
            "intent": intent,
            "predicted": predicted,
            "count": len(items),
            "examples": [
                {"text": p["text"], "confidence": p.get("confidence") or 0.0}
                for p in items[:per_pair]
            ],
        }
        for (intent, predicted), items in ranked
    ]


def intent_rows(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    rows = []
    for label, values in report.items():
        if not isinstance(values, dict) or label.endswith(" avg") or "support" not in values:
            continue
        confused = values.get("confused_with") or {}
        rows.append(
            {
                "intent": label,
                "precision": values.get("precision", 0.0),
                "recall": values.get("recall", 0.0),
                "f1": values.get("f1-score", 0.0),
                "support": values.get("support", 0),
                "confused_with": ", ".join(f"{k} ({v})" for k, v in confused.items()),
            }
        )
    return sorted(rows, key=lambda r: (r["f1"], r["intent"]))


def example_counts(project: Project) -> List[Dict[str, Any]]:
    """Training examples per intent (retrieval questions separately), fewest first."""
    counts = Counter(e.intent for e in project.examples)
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]))
    return [{"intent": intent, "count": count} for intent, count in ranked]


def too_few(project: Project, minimums: Dict[str, int]) -> List[Dict[str, Any]]:
    """Topics under the agreed minimum, furthest below first."""
    rows = below_minimum(project, minimums, load_topics())
    return sorted(rows, key=lambda r: (r["count"] - r["minimum"], r["topic"]))


def too_similar(project: Project, threshold: float, limit: int = 25) -> List[Dict[str, Any]]:
    """Pairs of intents with near-identical examples, with the most similar pair of examples."""
    examples = [e for e in project.examples if e.text.strip()]
    if len(examples) < 2:
        return []
    matrix = similarity_matrix([e.text for e in examples])
    np.fill_diagonal(matrix, 0.0)
    rows, columns = np.nonzero(np.triu(matrix) >= threshold)
    pairs: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for row, column in zip(rows, columns):
        first, second = examples[row], examples[column]
        if first.intent == second.intent:
            continue
        key = tuple(sorted((first.intent, second.intent)))
        entry = pairs.setdefault(key, {"intents": key, "count": 0, "score": 0.0})
        entry["count"] += 1
        if matrix[row, column] > entry["score"]:
            entry.update(score=float(matrix[row, column]), first=first.text, second=second.text,
                         first_intent=first.intent, second_intent=second.intent)
    return sorted(pairs.values(), key=lambda p: (-p["count"], -p["score"]))[:limit]


def entity_rows(evaluation: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows = []
    for extractor, result in (evaluation or {}).items():
        for label, values in (result.get("report") or {}).items():
            if isinstance(values, dict) and "support" in values and not label.endswith(" avg"):
                rows.append({"extractor": extractor, "entity": label,
                             "precision": values.get("precision", 0.0),
                             "recall": values.get("recall", 0.0),
                             "f1": values.get("f1-score", 0.0), "support": values["support"]})
    return rows


def build_report(
    project: Project, evaluation: Dict[str, Any], model: Path, test_file: Path,
    settings: Dict[str, Any], minimums: Dict[str, int],
) -> str:
    """The HTML of the report."""
    from sklearn.metrics import confusion_matrix

    intents = evaluation.get("intent_evaluation") or {"predictions": [], "report": {}}
    predictions = intents["predictions"]
    targets = [p["intent"] for p in predictions]
    predicted = [str(p["predicted"]) for p in predictions]
    labels = sorted(set(targets) | set(predicted))
    matrix = confusion_matrix(targets, predicted, labels=labels) if labels else np.zeros((0, 0))
    report = intents.get("report") or {}
    summary = {
        "accuracy": intents.get("accuracy", report.get("accuracy", 0.0)) or 0.0,
        "macro_f1": (report.get("macro avg") or {}).get("f1-score", 0.0),
        "weighted_f1": (report.get("weighted avg") or {}).get("f1-score", 0.0),
        "examples": len(predictions),
        "errors": sum(1 for t, p in zip(targets, predicted) if t != p),
        "training_examples": len(project.examples),
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
    )
    return environment.get_template("report.html.j2").render(
        generated=datetime.now().strftime("%d/%m/%Y %H:%M"),
        model=model.name,
        test_file=test_file.name,
        summary=summary,
        rows=intent_rows(report),
        matrix_png=confusion_png(labels, matrix) if labels else None,
        pairs=confused_pairs(predictions, settings["confused_pairs"],
                             settings["examples_per_pair"]),
        entities=entity_rows(evaluation.get("entity_evaluation")),
        too_few=too_few(project, minimums),
        counts=example_counts(project)[:15],
        similar=too_similar(project, settings["similar_examples"]),
        similar_threshold=settings["similar_examples"],
    )


def main(argv: Optional[List[str]] = None) -> int:
    config = load_config()
    parser = argparse.ArgumentParser(
        prog="python -m trainers.report",
        description="Entrena si hace falta, evalúa con la prueba separada y escribe el informe "
        "HTML de entendimiento (NLU).",
    )
    parser.add_argument("--proyecto", type=Path, default=PROJECT_ROOT, help="carpeta del proyecto")
    parser.add_argument("--config", type=Path, help="configuración (por defecto config.yml)")
    parser.add_argument("--modelo", type=Path, help="usar este modelo en vez de buscar o entrenar")
    parser.add_argument("--entrenar", action="store_true", help="entrenar aunque haya modelo")
    parser.add_argument("--prueba", type=Path, help="datos de prueba (tests/nlu/test_nlu.yml)")
    parser.add_argument("--salida", type=Path, help="archivo HTML (reports/nlu/index.html)")
    args = parser.parse_args(argv)
    root = args.proyecto.resolve()
    inputs = Inputs.of_project(root, args.config)
    test_file = args.prueba or root / "tests" / "nlu" / "test_nlu.yml"
    output = args.salida or root / "reports" / "nlu" / "index.html"
    models = root / "models"

    model = args.modelo
    if model is None and not args.entrenar:
        model = find_model(inputs, models)
        if model:
            print(say("report.model_reused", path=model))
    if model is None:
        print(say("report.training"))
        model = train_model(inputs, models)
        print(say("report.trained", path=model))
    print(say("report.evaluating", path=test_file))
    evaluation = evaluate(model, test_file, inputs.domain)
    html = build_report(load_project(root), evaluation, model, test_file, config["report"],
                        config["lint"]["min_examples"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    print(say("report.written", path=output))
    return 0


def quiet_rasa() -> None:
    """Only Rasa's warnings and errors: trainers read this tool's own messages."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars of every evaluated message
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


if __name__ == "__main__":
    quiet_rasa()
    sys.exit(main())
