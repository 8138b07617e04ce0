"""WhatsApp webhook vs REST channel, one trained model, one process.

    .venv/bin/python -m bench.whatsapp_vs_rest [--model models/x.tar.gz] [--turns 40]
        [--citizens 16] [--per-citizen 5] [--ordering-window-ms N]

One Rasa app serves both channels (REST at /webhooks/rest/webhook, WhatsApp at
/webhooks/whatsapp/webhook) with the same agent; the project's action server runs
in its own process (as with `make run`); the WhatsApp side talks to the local fake Graph API
(tests/fixtures/graph_api.py), also in its own process, as Meta's servers are. Messages are conversation and frequent-question
texts that need no city backend.

Measured per turn:
* REST: request sent -> response received (the REST channel answers after the turn);
* WhatsApp: signed webhook sent -> the last outbound Graph API call of that turn answered;
  plus the webhook acknowledgement time (request -> 200).
Scenarios: a single stream (one citizen, turn after turn) and 16 concurrent
citizens (each waits for its answer before writing again). Prints p50/p95,
throughput, the WhatsApp/REST ratio and the acknowledgement p95, with the targets
of issue 5 (<= 1.10x, ack p95 < 250 ms).
"""
import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = [
    "hola",
    "buen día, qué podés hacer?",
    "cómo saco turno para la vtv",
    "qué es ecobici",
    "sos un robot?",
    "qué es la línea 144",
    "gracias!",
    "cómo me anoto en vamos los vecinos",
    "dónde veo el mapa del delito",
    "chau",
]
SECRET = "bench-app-secret"
TARGET_RATIO = 1.10
TARGET_ACK_P95_MS = 250.0


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, model: Path, ordering_window_ms: Optional[int]) -> None:
        self.model = model
        self.ordering_window_ms = ordering_window_ms
        self.turn_done: Dict[Text, "asyncio.Future[float]"] = {}

    async def start(self) -> None:
        import aiohttp
        from rasa.core.agent import Agent
        from rasa.core.channels.rest import RestInput
        from rasa.core.run import configure_app
        from rasa.utils.endpoints import EndpointConfig
        from sanic import Sanic

        from channels.whatsapp import WhatsAppConfig, WhatsAppInput
        from tests.fixtures.graph_api import (  # the local fake of Meta's Graph API
            FAKE_PHONE_NUMBER_ID,
            FAKE_TOKEN,
            _free_port,
            start_sanic_in_thread,
        )

        Sanic.test_mode = True
        # Meta's servers are not in our process: the fake runs in its own, so that its work
        # (parsing and recording every send) is not charged to the connector.
        graph_port = _free_port()
        self.graph_process = subprocess.Popen(
            [sys.executable, "-m", "tests.fixtures.graph_api", "--port", str(graph_port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.graph_url = f"http://127.0.0.1:{graph_port}"
        await _wait_for_port(graph_port, 60)
        self.var = ROOT / "var" / "bench" / uuid.uuid4().hex[:8]
        credentials = {
            "phone_number_id": FAKE_PHONE_NUMBER_ID,
            "access_token": FAKE_TOKEN,
            "app_secret": SECRET,
            "verify_token": "bench",
            "graph_base_url": self.graph_url,
            "dedup_sqlite_path": str(self.var / "processed.sqlite3"),
            "media_dir": str(self.var / "media"),
        }
        if self.ordering_window_ms is not None:
            credentials["ordering_window_ms"] = self.ordering_window_ms
        bench = self

        class TimedWhatsAppInput(WhatsAppInput):
            """Resolves a future when a message's turn (and its sends) finished."""

            async def _process(self, message: Any, extra: Dict[Text, Any]) -> None:
                await super()._process(message, extra)
                done = bench.turn_done.get(message.id)
                if done is not None:  # the client runs in another thread and loop
                    finished = time.monotonic()
                    bench.client_loop.call_soon_threadsafe(
                        lambda: done.done() or done.set_result(finished)
                    )

        self.whatsapp = TimedWhatsAppInput(WhatsAppConfig.from_credentials(credentials))
        self.config = self.whatsapp.config

        action_port, rasa_port = _free_port(), _free_port()
        # the action server is its own process, as in `make run`
        environment = dict(os.environ)
        environment.setdefault("CITY_SERVICES_URL", "http://127.0.0.1:5056")
        self.action_process = subprocess.Popen(
            [str(Path(sys.executable).parent / "rasa"), "run", "actions", "--port", str(action_port)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await _wait_until_up(f"http://127.0.0.1:{action_port}/health", 120)

        agent = Agent.load(
            str(self.model),
            action_endpoint=EndpointConfig(url=f"http://127.0.0.1:{action_port}/webhook"),
        )
        app = configure_app([RestInput(), self.whatsapp], port=rasa_port)
        app.ctx.agent = agent
        # Rasa serves from its own thread and loop; the load generator (this loop)
        # then sees acknowledgements as Meta would, not delayed by its own turns
        self.client_loop = asyncio.get_running_loop()
        self.server_loop, self.server_thread = start_sanic_in_thread(app, rasa_port)
        self.base = f"http://127.0.0.1:{rasa_port}"
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    async def stop(self) -> None:
        from tests.fixtures.graph_api import stop_sanic_thread

        await self.http.close()
        stop_sanic_thread(self.server_loop, self.server_thread)  # closes the channel's resources
        self.action_process.terminate()
        self.action_process.wait(30)
        self.graph_process.terminate()
        self.graph_process.wait(30)
        shutil.rmtree(self.var, ignore_errors=True)

    # ---- one turn per channel -----------------------------------------------------

    async def rest_turn(self, sender: Text, text: Text) -> float:
        started = time.monotonic()
        async with self.http.post(
            f"{self.base}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as response:
            await response.read()
            assert response.status == 200
        return time.monotonic() - started

    async def whatsapp_turn(self, sender: Text, text: Text, sequence: int) -> Tuple[float, float]:
        from channels.whatsapp.signature import SIGNATURE_HEADER, compute_signature

        wamid = f"wamid.BENCH{uuid.uuid4().hex}"
        body = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": self.config.phone_number_id,
                                },
                                "contacts": [{"profile": {"name": "Bench"}, "wa_id": sender}],
                                "messages": [
                                    {
                                        "from": sender,
                                        "id": wamid,
                                        "timestamp": str(1763900000 + sequence),
                                        "type": "text",
                                        "text": {"body": text},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        raw = json.dumps(body).encode()
        done: "asyncio.Future[float]" = asyncio.get_running_loop().create_future()
        self.turn_done[wamid] = done
        started = time.monotonic()
        async with self.http.post(
            f"{self.base}/webhooks/whatsapp/webhook",
            data=raw,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: compute_signature(SECRET, raw)},
        ) as response:
            await response.read()
            assert response.status == 200
        acked = time.monotonic() - started
        finished = await asyncio.wait_for(done, 120)
        del self.turn_done[wamid]
        # the turn ends once its last send to the Graph API has been answered
        return finished - started, acked

    # ---- scenarios ----------------------------------------------------------------

    async def citizen(self, channel: Text, sender: Text, turns: int, out: Dict[Text, List[float]]) -> None:
        for index in range(turns):
            text = MESSAGES[index % len(MESSAGES)]
            if channel == "rest":
                out["latency"].append(await self.rest_turn(sender, text))
            else:
                latency, acked = await self.whatsapp_turn(sender, text, index)
                out["latency"].append(latency)
                out["ack"].append(acked)

    async def scenario(self, channel: Text, citizens: int, turns: int) -> Dict[Text, Any]:
        out: Dict[Text, List[float]] = {"latency": [], "ack": []}
        prefix = f"549119{uuid.uuid4().int % 10**5:05d}"
        started = time.monotonic()
        await asyncio.gather(
            *(self.citizen(channel, f"{prefix}{i:02d}", turns, out) for i in range(citizens))
        )
        elapsed = time.monotonic() - started
        return {
            "channel": channel,
            "citizens": citizens,
            "turns": len(out["latency"]),
            "p50_ms": 1000 * percentile(out["latency"], 0.50),
            "p95_ms": 1000 * percentile(out["latency"], 0.95),
            "throughput": len(out["latency"]) / elapsed,
            "ack_p95_ms": 1000 * percentile(out["ack"], 0.95) if out["ack"] else None,
        }


async def _wait_until_up(url: Text, timeout: float) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


async def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def newest_model() -> Optional[Path]:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


async def run(args: argparse.Namespace) -> int:
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.is_file():
        print("No trained model: run `make train` first (or pass --model).", file=sys.stderr)
        return 2
    bench = Bench(model, args.ordering_window_ms)
    await bench.start()
    try:
        # warm-up: load lazily initialised parts of the pipeline on both paths
        await bench.scenario("rest", 2, 3)
        await bench.scenario("whatsapp", 2, 3)
        results = []
        for citizens, turns in ((1, args.turns), (args.citizens, args.per_citizen)):
            for channel in ("rest", "whatsapp"):
                results.append(await bench.scenario(channel, citizens, turns))
    finally:
        await bench.stop()

    print(f"\nmodel: {model.name}   ordering window: {bench.config.ordering_window_ms} ms   cpus: {os.cpu_count()}")
    print(f"{'scenario':<22}{'turns':>6}{'p50 ms':>9}{'p95 ms':>9}{'turns/s':>9}{'ack p95 ms':>12}")
    for r in results:
        label = f"{r['channel']} x{r['citizens']}"
        ack = f"{r['ack_p95_ms']:.1f}" if r["ack_p95_ms"] is not None else "-"
        print(f"{label:<22}{r['turns']:>6}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['throughput']:>9.2f}{ack:>12}")
    ok = True
    for rest, whatsapp in zip(results[::2], results[1::2]):
        ratio_p50 = whatsapp["p50_ms"] / rest["p50_ms"]
        ratio_p95 = whatsapp["p95_ms"] / rest["p95_ms"]
        ratio_tp = rest["throughput"] / whatsapp["throughput"]
        ack_ok = whatsapp["ack_p95_ms"] < TARGET_ACK_P95_MS
        within = ratio_p50 <= TARGET_RATIO and ratio_p95 <= TARGET_RATIO
        ok = ok and within and ack_ok
        print(
            f"x{rest['citizens']:<3} WhatsApp/REST latency p50 {ratio_p50:.2f}  p95 {ratio_p95:.2f}  "
            f"throughput REST/WA {ratio_tp:.2f}  [{'ok' if within else 'OVER'} <= {TARGET_RATIO}]  "
            f"ack p95 {whatsapp['ack_p95_ms']:.1f} ms [{'ok' if ack_ok else 'OVER'} < {TARGET_ACK_P95_MS:.0f}]"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok or not args.strict else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model archive (default: newest in models/)")
    parser.add_argument("--turns", type=int, default=40, help="turns of the single stream")
    parser.add_argument("--citizens", type=int, default=16)
    parser.add_argument("--per-citizen", type=int, default=5, help="turns per concurrent citizen")
    parser.add_argument("--ordering-window-ms", type=int, default=None,
                        help="override the connector's ordering window (default: its config)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("rasa", "sanic", "rasa_sdk", "channels"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # Rasa 3.6 logs each turn through structlog too, at debug level unless told otherwise
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
