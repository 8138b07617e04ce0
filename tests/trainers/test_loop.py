"""The trainers' loop end to end: failed messages yesterday -> inbox -> labels -> merge ->
report (retrains) -> the messages are understood."""
import asyncio
import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import yaml
from rasa.core.agent import Agent

from tests.trainers.conftest import converse, training_cache
from trainers import inbox, merge, report
from trainers.project import load_config

FAILED = "se me venció la oblea"


def test_failed_message_is_understood_after_the_loop(reported, sqlite_store, tmp_path, capsys):
    project = tmp_path / "project"
    shutil.copytree(reported, project)
    store, url = sqlite_store
    (old_model,) = (project / "models").glob("*.tar.gz")
    before = asyncio.run(Agent.load(str(old_model)).parse_message(FAILED))
    assert before["intent"]["name"] == "nlu_fallback"
    converse(old_model, store, {"5491100000099": ["hola", FAILED]})

    day = datetime.now(ZoneInfo(load_config()["inbox"]["timezone"])).date().isoformat()
    exported = project / "inbox" / "hoy.yml"
    assert inbox.main(["--desde", day, "--conversaciones", url, "--salida", str(exported)]) == 0
    document = yaml.safe_load(exported.read_text(encoding="utf-8"))
    (group,) = document["grupos"]  # "hola" was understood: only the failed message is there
    assert [m["texto"] for m in group["mensajes"]] == [FAILED]
    assert group["mensajes"][0]["motivo"] == "no entendió (nlu_fallback)"
    group["intencion"] = "vtv/overview"  # what the trainer writes
    exported.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    assert merge.main([str(exported), "--proyecto", str(project)]) == 0
    with training_cache(reported.parent / "cache"):
        assert report.main(["--proyecto", str(project)]) == 0
    output = capsys.readouterr().out
    assert "Modelo nuevo:" in output, "the report did not retrain after the merge"

    new_models = set((project / "models").glob("*.tar.gz")) - {old_model}
    (new_model,) = new_models
    parsed = asyncio.run(Agent.load(str(new_model)).parse_message(FAILED))
    assert parsed["intent"]["name"] == "vtv"
    selected = parsed["response_selector"]["default"]["response"]["intent_response_key"]
    assert selected == "vtv/overview"
