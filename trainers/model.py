"""The model trained from exactly the project's current inputs: reused if it exists, else trained.

``rasa train`` in Rasa 3.6 always writes a new archive (about 90 MB here) and, with this
pipeline, its dry run always finds something to retrain, so `make run`, `make test` and the
tests would each retrain and pile up archives. A model trained here is named after a hash of
Rasa's version and every training input (``vecino-<hash>.tar.gz``): the same inputs find it.

Usage: python -m trainers.model [--config config.yml] [--proyecto .]
Prints progress on stderr and the model's path as the last line on stdout.
"""
import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from trainers.messages import say
from trainers.project import PROJECT_ROOT, yaml_files

MODEL_PREFIX = "vecino-"


@dataclass(frozen=True)
class Inputs:
    """The files a model is trained from."""

    root: Path
    config: Path
    domain: Path
    data: Path

    @classmethod
    def of_project(cls, root: Path, config: Optional[Path] = None) -> "Inputs":
        root = root.resolve()
        return cls(root, (config or root / "config.yml").resolve(), root / "domain.yml", root / "data")

    def files(self) -> List[Path]:
        return [self.config, *yaml_files(self.domain), *yaml_files(self.data)]


def fingerprint(inputs: Inputs) -> str:
    """Hash of Rasa's version and every training input (path and content)."""
    import rasa

    digest = hashlib.sha256(rasa.__version__.encode())
    for path in inputs.files():
        digest.update(str(path.relative_to(inputs.root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def model_path(inputs: Inputs, models: Path) -> Path:
    return models / f"{MODEL_PREFIX}{fingerprint(inputs)}.tar.gz"


def train_model(inputs: Inputs, models: Path) -> Path:
    from rasa.model_training import train

    result = train(
        str(inputs.domain), str(inputs.config), [str(inputs.data)], output=str(models),
        fixed_model_name=f"{MODEL_PREFIX}{fingerprint(inputs)}",
    )
    if result.code != 0 or not result.model:
        raise RuntimeError(say("model.train_failed"))
    return Path(result.model)


def ensure_model(
    inputs: Inputs, models: Path, tell: Callable[[str], None] = lambda _: None
) -> Tuple[Path, bool]:
    """The model of these inputs, and whether it had to be trained now (``tell`` hears progress)."""
    existing = model_path(inputs, models)
    if existing.is_file():
        tell(say("model.reused", path=existing.relative_to(inputs.root)))
        return existing, False
    tell(say("model.training"))
    path = train_model(inputs, models)
    tell(say("model.trained", path=path))
    return path, True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proyecto", type=Path, default=PROJECT_ROOT, help="carpeta del proyecto")
    parser.add_argument("--config", type=Path, help="configuración (por defecto config.yml)")
    args = parser.parse_args(argv)
    inputs = Inputs.of_project(args.proyecto, args.config)
    # Rasa prints its training progress on stdout: keep stdout for the path alone
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        path, _ = ensure_model(inputs, inputs.root / "models", tell=print)
    finally:
        sys.stdout = stdout
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
