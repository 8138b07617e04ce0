"""WhatsApp webhook vs REST channel, one trained model, one Rasa process.

    .venv/bin/python -m bench.whatsapp_vs_rest [--model models/x.tar.gz] [--rounds 5]
        [--turns 40] [--citizens 16] [--per-citizen 5] [--ordering-window-ms N]
        [--max-concurrent-turns N] [--on-rasa-port]

One Rasa app serves both channels (REST at /webhooks/rest/webhook, WhatsApp at
/webhooks/whatsapp/webhook) with the same agent, in its own process. As with
`make run`, the webhooks go to the channel's own port (WHATSAPP_WEBHOOK_PORT,
webhook_server.py); ``--on-rasa-port`` sends them to Rasa's port instead. The project's
action server runs in another (as with `make run`), the local fake Graph API
(tests/fixtures/graph_api.py) in a third, as Meta's servers are, and this process
only plays the citizens, so that none of their work is charged to the channels.
Messages are conversation and frequent-question texts that need no city backend.

Measured per turn:
* REST: request sent -> response received (the REST channel answers after the turn);
* WhatsApp: signed webhook sent -> the fake Graph API received the turn's last outbound
  call (when Meta has the answer, as the REST client has its response); plus the webhook
  acknowledgement time (request -> 200), when the read receipt (blue ticks, typing
  indicator) reached the fake, and, for reference, until the connector read Graph's
  answer to that last call.
Scenarios, each run ``--rounds`` times per channel: a single stream (one citizen
per channel, turn after turn, the two channels taking turns message by message so
that both see the same machine) and 16 concurrent citizens (each waits for its
answer before writing again; the channels one after the other, alternating which
goes first). Prints p50/p95, throughput, the WhatsApp/REST ratio and the
acknowledgement p95, with the targets of issue 5 (<= 1.10x, ack p95 < 250 ms); for
16 citizens also the ratios while every citizen is writing (without each round's
simultaneous first messages and its drain), and for both channels the CPU time per
turn of every process.
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
from dataclasses import dataclass
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
    def __init__(
        self,
        model: Path,
        ordering_window_ms: Optional[int],
        max_concurrent_turns: Optional[int] = None,
        own_port: bool = True,
    ) -> None:
        self.model = model
        self.own_port = own_port
        self.ordering_window_ms = ordering_window_ms
        self.max_concurrent_turns = max_concurrent_turns
        self.turn_done: Dict[Text, "asyncio.Future[float]"] = {}

    async def start(self) -> None:
        import aiohttp

        from tests.fixtures.graph_api import _free_port

        # Meta's servers, the action server and Rasa each run in their own process;
        # this one only plays the citizens, so its work is not charged to the channels.
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

        action_port, rasa_port = _free_port(), _free_port()
        # the action server as deployed, behind Rasa's token; the --serve process inherits it
        os.environ["ACTION_SERVER_TOKEN"] = os.environ.get("ACTION_SERVER_TOKEN") or uuid.uuid4().hex
        environment = dict(os.environ)
        environment.setdefault("CITY_SERVICES_URL", "http://127.0.0.1:5056")
        self.action_process = subprocess.Popen(
            [sys.executable, "-m", "action_server", "--port", str(action_port)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await _wait_until_up(f"http://127.0.0.1:{action_port}/health", 120)

        server = [
            sys.executable, "-m", "bench.whatsapp_vs_rest", "--serve",
            "--model", str(self.model),
            "--port", str(rasa_port),
            "--action-url", f"http://127.0.0.1:{action_port}/webhook",
            "--graph-url", self.graph_url,
            "--var", str(self.var),
        ]
        if self.ordering_window_ms is not None:
            server += ["--ordering-window-ms", str(self.ordering_window_ms)]
        if self.max_concurrent_turns is not None:
            server += ["--max-concurrent-turns", str(self.max_concurrent_turns)]
        if self.own_port:
            server += ["--webhook-port", str(_free_port())]
        # the server reports each finished WhatsApp turn on its stdout
        self.rasa_process = await asyncio.create_subprocess_exec(
            *server, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        header = await asyncio.wait_for(self.rasa_process.stdout.readline(), 300)
        self.config = json.loads(header)  # the connector's settings, once it is up
        self.reader = asyncio.ensure_future(self._read_turns())
        self.base = f"http://127.0.0.1:{rasa_port}"
        webhook_port = self.config["webhook_port"] or rasa_port
        self.webhook_url = f"http://127.0.0.1:{webhook_port}/webhooks/whatsapp/webhook"
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    async def _read_turns(self) -> None:
        assert self.rasa_process.stdout is not None
        async for line in self.rasa_process.stdout:
            wamid, finished = line.decode().split()
            done = self.turn_done.get(wamid)
            if done is not None and not done.done():
                done.set_result(float(finished))

    async def stop(self) -> None:
        await self.http.close()
        self.rasa_process.terminate()  # Sanic's stop listeners close the channel's resources
        await self.rasa_process.wait()
        self.reader.cancel()
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

    async def whatsapp_turn(self, sender: Text, text: Text, sequence: int) -> "WhatsAppTurn":
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
                                    "phone_number_id": self.config["phone_number_id"],
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
            self.webhook_url,
            data=raw,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: compute_signature(SECRET, raw)},
        ) as response:
            await response.read()
            assert response.status == 200
        acked = time.monotonic() - started
        # the citizen writes again once the turn is over (its answer sent); the
        # latency itself is read afterwards from when the fake Graph API got the sends
        finished = await asyncio.wait_for(done, 120)
        del self.turn_done[wamid]
        return WhatsAppTurn(sender, sequence, started, acked, finished, wamid)

    # ---- scenarios ----------------------------------------------------------------

    async def citizen(self, channel: Text, sender: Text, turns: int, out: Dict[Text, List[Any]]) -> None:
        for index in range(turns):
            text = MESSAGES[index % len(MESSAGES)]
            if channel == "rest":
                out["latency"].append(await self.rest_turn(sender, text))
                out["index"].append(index)
            else:
                out["turns"].append(await self.whatsapp_turn(sender, text, index))

    def processes(self) -> Dict[Text, int]:
        return {
            "rasa": self.rasa_process.pid,
            "actions": self.action_process.pid,
            "graph": self.graph_process.pid,
            "citizens": os.getpid(),
        }

    async def single_streams(self, turns: int) -> Dict[Text, Dict[Text, Any]]:
        """One citizen per channel, writing in alternation: never two turns in flight.

        The machine's speed drifts by more than the connector's cost within
        seconds (a shared 2-core host), so the channels take turns message by
        message rather than run after one another: each pair of turns sees the
        same machine. Elapsed time and CPU are counted per channel, turn by turn.
        """
        prefix = f"549119{uuid.uuid4().int % 10**5:05d}"
        senders = {"rest": f"{prefix}00", "whatsapp": f"{prefix}01"}
        latency: Dict[Text, List[float]] = {"rest": [], "whatsapp": []}
        elapsed = {"rest": 0.0, "whatsapp": 0.0}
        cpu = {channel: {name: 0.0 for name in self.processes()} for channel in elapsed}
        whatsapp_turns: List[WhatsAppTurn] = []
        started = time.monotonic()
        for index in range(turns):
            text = MESSAGES[index % len(MESSAGES)]
            for channel in ("rest", "whatsapp") if index % 2 == 0 else ("whatsapp", "rest"):
                cpu_before = {name: cpu_seconds(pid) for name, pid in self.processes().items()}
                turn_started = time.monotonic()
                if channel == "rest":
                    latency["rest"].append(await self.rest_turn(senders["rest"], text))
                else:
                    whatsapp_turns.append(await self.whatsapp_turn(senders["whatsapp"], text, index))
                elapsed[channel] += time.monotonic() - turn_started
                for name, pid in self.processes().items():
                    cpu[channel][name] += cpu_seconds(pid) - cpu_before[name]
        async with self.http.get(f"{self.graph_url}/_fake/sent", params={"since": str(started)}) as reply:
            logs = await reply.json()
        results = {
            "rest": {"latency": latency["rest"]},
            "whatsapp": whatsapp_latencies(whatsapp_turns, logs["sent"], logs["read"]),
        }
        for channel, result in results.items():
            result.update(elapsed=elapsed[channel], cpu=cpu[channel], steady=list(result["latency"]))
        return results

    async def scenario(self, channel: Text, citizens: int, turns: int) -> Dict[Text, Any]:
        """One run: ``citizens`` senders writing ``turns`` messages each, at once."""
        out: Dict[Text, List[Any]] = {"latency": [], "index": [], "turns": []}
        prefix = f"549119{uuid.uuid4().int % 10**5:05d}"
        cpu_before = {name: cpu_seconds(pid) for name, pid in self.processes().items()}
        started = time.monotonic()
        await asyncio.gather(
            *(self.citizen(channel, f"{prefix}{i:02d}", turns, out) for i in range(citizens))
        )
        elapsed = time.monotonic() - started
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in self.processes().items()}
        result: Dict[Text, Any] = {"latency": out["latency"], "elapsed": elapsed, "cpu": cpu}
        indices = out["index"]
        if channel == "whatsapp":
            async with self.http.get(f"{self.graph_url}/_fake/sent", params={"since": str(started)}) as reply:
                logs = await reply.json()
            result.update(whatsapp_latencies(out["turns"], logs["sent"], logs["read"]))
            indices = [turn.index for turn in out["turns"]]
        # every citizen writing: without the round's first turns (16 messages in the
        # same millisecond) and last ones (the others have stopped writing)
        result["steady"] = [
            latency
            for latency, index in zip(result["latency"], indices)
            if citizens == 1 or 0 < index < turns - 1
        ]
        return result


@dataclass(frozen=True)
class WhatsAppTurn:
    sender: Text
    index: int  # the citizen's n-th message of the round
    started: float  # webhook sent (time.monotonic(): the system's clock, shared by processes)
    acked: float  # seconds until the 200
    finished: float  # the connector had Graph's answer to the turn's last send and marked it done
    wamid: Text = ""


def whatsapp_latencies(
    turns: List[WhatsAppTurn], sent: List[Dict[Text, Any]], read: Optional[List[Dict[Text, Any]]] = None
) -> Dict[Text, List[float]]:
    """Per turn: webhook sent -> the fake Graph API received the turn's last send.

    That is the moment Meta has the answer, the counterpart of the REST response
    reaching the client. A citizen writes only after the previous answer, so the
    sends to a sender between its webhook and the turn's end are that turn's.
    Also returned: until the connector read Graph's answer to that send (it then
    still waits for the busy event loop), the acknowledgement times, and when the
    message's read receipt (the blue ticks) reached the fake.
    """
    arrivals: Dict[Text, List[float]] = {}
    for entry in sent:
        arrivals.setdefault(entry["to"], []).append(entry["received_at"])
    latency, reply_read = [], []
    for turn in turns:
        last = max(
            (at for at in arrivals.get(turn.sender, []) if turn.started <= at <= turn.finished),
            default=None,
        )
        if last is None:
            raise RuntimeError(f"no send to {turn.sender} reached the fake Graph API for a turn")
        latency.append(last - turn.started)
        reply_read.append(turn.finished - turn.started)
    read_at = {entry["message_id"]: entry["received_at"] for entry in read or []}
    receipt = [read_at[turn.wamid] - turn.started for turn in turns if turn.wamid in read_at]
    return {
        "latency": latency,
        "reply_read": reply_read,
        "ack": [turn.acked for turn in turns],
        "receipt": receipt,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), threads included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # after the command name: state is field 3, utime 14 and stime 15 (man 5 proc)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(channel: Text, citizens: int, runs: List[Dict[Text, Any]]) -> Dict[Text, Any]:
    latency = [value for run in runs for value in run["latency"]]
    steady = [value for run in runs for value in run["steady"]]
    ack = [value for run in runs for value in run.get("ack", [])]
    reply_read = [value for run in runs for value in run.get("reply_read", [])]
    receipt = [value for run in runs for value in run.get("receipt", [])]
    cpu_ms_per_turn = {
        name: 1000 * sum(run["cpu"][name] for run in runs) / len(latency) for name in runs[0]["cpu"]
    }
    return {
        "channel": channel,
        "citizens": citizens,
        "turns": len(latency),
        "mean_ms": 1000 * sum(latency) / len(latency),
        "p50_ms": 1000 * percentile(latency, 0.50),
        "p95_ms": 1000 * percentile(latency, 0.95),
        "steady_p50_ms": 1000 * percentile(steady, 0.50),
        "steady_p95_ms": 1000 * percentile(steady, 0.95),
        "throughput": len(latency) / sum(run["elapsed"] for run in runs),
        "ack_p95_ms": 1000 * percentile(ack, 0.95) if ack else None,
        "reply_read_p50_ms": 1000 * percentile(reply_read, 0.50) if reply_read else None,
        "reply_read_p95_ms": 1000 * percentile(reply_read, 0.95) if reply_read else None,
        "receipt_p50_ms": 1000 * percentile(receipt, 0.50) if receipt else None,
        "receipt_p95_ms": 1000 * percentile(receipt, 0.95) if receipt else None,
        "cpu_ms_per_turn": cpu_ms_per_turn,
    }


def serve(args: argparse.Namespace) -> None:
    """The Rasa process: one app with the REST and WhatsApp channels, one agent.

    Prints the connector's settings as one JSON line once it serves, then
    ``<wamid> <time.monotonic()>`` when a WhatsApp turn's answer has been sent.
    """
    import signal
    import threading

    from rasa.core.agent import Agent
    from rasa.core.channels.rest import RestInput
    from rasa.core.run import configure_app
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.tensorflow.environment import setup_tf_environment
    from sanic import Sanic

    from channels.whatsapp import WhatsAppConfig, WhatsAppInput
    from tests.fixtures.graph_api import (
        FAKE_PHONE_NUMBER_ID,
        FAKE_TOKEN,
        start_sanic_in_thread,
        stop_sanic_thread,
    )

    # stdout carries only the report; whatever else prints goes where stderr goes
    report = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    Sanic.test_mode = True
    var = Path(args.var)
    credentials: Dict[Text, Any] = {
        "phone_number_id": FAKE_PHONE_NUMBER_ID,
        "access_token": FAKE_TOKEN,
        "app_secret": SECRET,
        "verify_token": "bench",
        "graph_base_url": args.graph_url,
        "dedup_sqlite_path": str(var / "processed.sqlite3"),
        "media_dir": str(var / "media"),
    }
    if args.ordering_window_ms is not None:
        credentials["ordering_window_ms"] = args.ordering_window_ms
    if args.max_concurrent_turns is not None:
        credentials["max_concurrent_turns"] = args.max_concurrent_turns
    if args.webhook_port is not None:
        credentials.update(webhook_port=args.webhook_port, webhook_host="127.0.0.1")
    lock = threading.Lock()

    class TimedWhatsAppInput(WhatsAppInput):
        """Reports when a message's answer has been sent."""

        async def _process(self, message: Any, *rest: Any) -> None:
            try:
                # returns once the turn's buffered answer went out (its last Graph API
                # call was answered) and the message is marked done: the next message
                # of the benchmark then finds the connector idle, as REST's does
                await super()._process(message, *rest)
            finally:
                finished = time.monotonic()
                with lock:
                    report.write(f"{message.id} {finished}\n")
                    report.flush()

    whatsapp = TimedWhatsAppInput(WhatsAppConfig.from_credentials(credentials))
    # as `rasa run` does: TensorFlow's thread pools follow TF_*_PARALLELISM_THREADS
    setup_tf_environment()
    agent = Agent.load(
        args.model,
        action_endpoint=EndpointConfig(url=args.action_url, token=os.environ.get("ACTION_SERVER_TOKEN") or None),
    )
    app = configure_app([RestInput(), whatsapp], port=args.port)
    app.ctx.agent = agent
    loop, thread = start_sanic_in_thread(app, args.port)
    config = whatsapp.config
    report.write(
        json.dumps(
            {
                "phone_number_id": config.phone_number_id,
                "ordering_window_ms": config.ordering_window_ms,
                "max_concurrent_turns": config.turn_limit,
                "webhook_port": whatsapp.webhook_port,
            }
        )
        + "\n"
    )
    report.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    stop_sanic_thread(loop, thread)
    shutil.rmtree(var, ignore_errors=True)


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
    bench = Bench(model, args.ordering_window_ms, args.max_concurrent_turns, own_port=not args.on_rasa_port)
    await bench.start()
    try:
        # warm-up: load lazily initialised parts of the pipeline on both paths
        await bench.scenario("rest", 2, 3)
        await bench.scenario("whatsapp", 2, 3)
        # rounds alternate which channel goes first, so that drift on the machine (other
        # processes, caches, the garbage collector) falls on both channels alike
        runs: Dict[Tuple[Text, int], List[Dict[Text, Any]]] = {}
        for round_index in range(args.rounds):
            for channel, run in (await bench.single_streams(args.turns)).items():
                runs.setdefault((channel, 1), []).append(run)
            channels = ("rest", "whatsapp") if round_index % 2 == 0 else ("whatsapp", "rest")
            for channel in channels:
                run = await bench.scenario(channel, args.citizens, args.per_citizen)
                runs.setdefault((channel, args.citizens), []).append(run)
        results = [
            summarize(channel, citizens, runs[(channel, citizens)])
            for citizens in (1, args.citizens)
            for channel in ("rest", "whatsapp")
        ]
    finally:
        await bench.stop()

    print(
        f"\nmodel: {model.name}   ordering window: {bench.config['ordering_window_ms']} ms   "
        f"concurrent turns: {bench.config['max_concurrent_turns']}   rounds: {args.rounds}   cpus: {os.cpu_count()}\n"
        f"webhook: {'own port (WHATSAPP_WEBHOOK_PORT)' if bench.config['webhook_port'] else 'on Rasa' + chr(39) + 's port'}"
    )
    print(f"{'scenario':<22}{'turns':>6}{'mean ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'turns/s':>9}{'ack p95 ms':>12}")
    for r in results:
        label = f"{r['channel']} x{r['citizens']}"
        ack = f"{r['ack_p95_ms']:.1f}" if r["ack_p95_ms"] is not None else "-"
        print(
            f"{label:<22}{r['turns']:>6}{r['mean_ms']:>9.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
            f"{r['throughput']:>9.2f}{ack:>12}"
        )
    print("\nCPU per turn, ms (user + system, by process):")
    names = list(results[0]["cpu_ms_per_turn"])
    print(f"{'scenario':<22}" + "".join(f"{name:>10}" for name in names))
    for r in results:
        label = f"{r['channel']} x{r['citizens']}"
        print(f"{label:<22}" + "".join(f"{r['cpu_ms_per_turn'][name]:>10.1f}" for name in names))
    for r in results:
        if r["reply_read_p50_ms"] is not None:
            print(
                f"whatsapp x{r['citizens']}: until the connector read Graph's answer to the last send, "
                f"p50 {r['reply_read_p50_ms']:.1f} ms, p95 {r['reply_read_p95_ms']:.1f} ms"
            )
        if r["receipt_p50_ms"] is not None:
            print(
                f"whatsapp x{r['citizens']}: read receipt (blue ticks, typing indicator) at Graph after the webhook, "
                f"p50 {r['receipt_p50_ms']:.1f} ms, p95 {r['receipt_p95_ms']:.1f} ms"
            )
    ok = True
    for rest, whatsapp in zip(results[::2], results[1::2]):
        ratio_mean = whatsapp["mean_ms"] / rest["mean_ms"]
        ratio_p50 = whatsapp["p50_ms"] / rest["p50_ms"]
        ratio_p95 = whatsapp["p95_ms"] / rest["p95_ms"]
        ratio_tp = rest["throughput"] / whatsapp["throughput"]
        ack_ok = whatsapp["ack_p95_ms"] < TARGET_ACK_P95_MS
        within = ratio_p50 <= TARGET_RATIO and ratio_p95 <= TARGET_RATIO
        ok = ok and within and ack_ok
        print(
            f"x{rest['citizens']:<3} WhatsApp/REST latency mean {ratio_mean:.2f}  p50 {ratio_p50:.2f}  p95 {ratio_p95:.2f}  "
            f"throughput REST/WA {ratio_tp:.2f}  [{'ok' if within else 'OVER'} <= {TARGET_RATIO}]  "
            f"ack p95 {whatsapp['ack_p95_ms']:.1f} ms [{'ok' if ack_ok else 'OVER'} < {TARGET_ACK_P95_MS:.0f}]"
        )
        if rest["citizens"] > 1:
            print(
                f"     every citizen writing (each one's first and last turn of a round left out): "
                f"p50 {whatsapp['steady_p50_ms'] / rest['steady_p50_ms']:.2f}  "
                f"p95 {whatsapp['steady_p95_ms'] / rest['steady_p95_ms']:.2f}  "
                f"(REST {rest['steady_p50_ms']:.0f} / {rest['steady_p95_ms']:.0f} ms, "
                f"WhatsApp {whatsapp['steady_p50_ms']:.0f} / {whatsapp['steady_p95_ms']:.0f} ms)"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok or not args.strict else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model archive (default: newest in models/)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of every scenario per channel")
    parser.add_argument("--turns", type=int, default=40, help="turns of the single stream, per round")
    parser.add_argument("--citizens", type=int, default=16)
    parser.add_argument("--per-citizen", type=int, default=5, help="turns per concurrent citizen, per round")
    parser.add_argument("--max-concurrent-turns", type=int, default=None,
                        help="override the connector's bound on turns at once (default: its config)")
    parser.add_argument("--ordering-window-ms", type=int, default=None,
                        help="override the connector's ordering window (default: its config)")
    parser.add_argument("--on-rasa-port", action="store_true",
                        help="send webhooks to Rasa's port, without the channel's own webhook port")
    parser.add_argument("--json", help="also write the figures to this file")
    # the Rasa process the benchmark starts (not for direct use)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--action-url", help=argparse.SUPPRESS)
    parser.add_argument("--graph-url", help=argparse.SUPPRESS)
    parser.add_argument("--var", help=argparse.SUPPRESS)
    parser.add_argument("--webhook-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("rasa", "sanic", "rasa_sdk", "channels"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # Rasa 3.6 logs each turn through structlog too, at debug level unless told otherwise
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)
    if args.serve:
        serve(args)
        return
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
