"""The benchmark's own arithmetic: which Graph API send ends which WhatsApp turn."""
import os

import pytest

from bench.whatsapp_vs_rest import WhatsAppTurn, cpu_seconds, percentile, whatsapp_latencies


def test_a_turn_ends_at_the_last_send_to_its_citizen_within_the_turn() -> None:
    turns = [
        WhatsAppTurn("549111", 0, started=10.0, acked=0.002, finished=10.30),
        WhatsAppTurn("549222", 0, started=10.1, acked=0.003, finished=10.50),
        WhatsAppTurn("549111", 1, started=10.4, acked=0.001, finished=10.90),
    ]
    sent = [
        {"to": "549111", "type": "text", "received_at": 10.20},
        {"to": "549111", "type": "interactive", "received_at": 10.25},  # same turn, later
        {"to": "549222", "type": "text", "received_at": 10.45},
        {"to": "549111", "type": "text", "received_at": 10.80},  # the next turn's
    ]

    figures = whatsapp_latencies(turns, sent)

    assert figures["latency"] == pytest.approx([0.25, 0.35, 0.40])
    assert figures["reply_read"] == pytest.approx([0.30, 0.40, 0.50])
    assert figures["ack"] == [0.002, 0.003, 0.001]


def test_a_turn_whose_answer_never_reached_graph_is_an_error_not_a_figure() -> None:
    turns = [WhatsAppTurn("549111", 0, started=10.0, acked=0.002, finished=10.30)]
    sent = [{"to": "549111", "type": "text", "received_at": 9.5}]  # an earlier turn's

    with pytest.raises(RuntimeError):
        whatsapp_latencies(turns, sent)


def test_cpu_seconds_reads_this_process_and_grows_with_work() -> None:
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert cpu_seconds(os.getpid()) > before >= 0


def test_percentile_picks_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 51.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN for no values


def test_the_read_receipt_is_timed_from_the_webhook_to_its_own_message_id() -> None:
    turns = [
        WhatsAppTurn("549111", 0, started=10.0, acked=0.002, finished=10.30, wamid="wamid.A"),
        WhatsAppTurn("549222", 0, started=10.1, acked=0.003, finished=10.50, wamid="wamid.B"),
    ]
    sent = [
        {"to": "549111", "type": "text", "received_at": 10.20},
        {"to": "549222", "type": "text", "received_at": 10.45},
    ]
    read = [
        {"message_id": "wamid.B", "received_at": 10.104},
        {"message_id": "wamid.A", "received_at": 10.005},
        {"message_id": "wamid.OTHER", "received_at": 10.2},  # another run's
    ]

    figures = whatsapp_latencies(turns, sent, read)

    assert figures["receipt"] == pytest.approx([0.005, 0.004])
    assert whatsapp_latencies(turns, sent)["receipt"] == []
