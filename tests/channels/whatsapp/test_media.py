"""fetch_media: the token goes only to Meta's hosts; wrong checksums and non-images are refused."""
import base64
import hashlib
from pathlib import Path
from typing import AsyncIterator

import pytest

from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.graph_api import GraphApiClient, media_url_allowed
from channels.whatsapp.media import LocalMediaStore, fetch_media, sniff_image
from tests.fixtures.graph_api import FakeGraphApi

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 a pothole"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "


@pytest.fixture
async def client(make_config) -> AsyncIterator[GraphApiClient]:
    graph = GraphApiClient(make_config())
    yield graph
    await graph.close()


def test_images_are_told_by_their_bytes() -> None:
    assert [sniff_image(d) for d in (JPEG, PNG, WEBP)] == ["image/jpeg", "image/png", "image/webp"]
    for not_an_image in (b"", b"jpeg", b"%PDF-1.7", b"MZ\x90\x00", b"<html>", b"RIFF\x00\x00\x00\x00WAVE"):
        assert sniff_image(not_an_image) is None


async def test_a_real_photo_is_stored_under_its_real_type(client, fake_graph_api: FakeGraphApi, tmp_path: Path) -> None:
    fake_graph_api.add_media("m1", PNG, "image/jpeg")  # declared jpeg, but a png
    stored = await fetch_media(client, LocalMediaStore(str(tmp_path)), "m1", "image/jpeg")
    assert (stored.status, stored.mime_type) == ("stored", "image/png")
    assert Path(stored.path).suffix == ".png" and Path(stored.path).read_bytes() == PNG


@pytest.mark.parametrize("data", [b"#!/bin/sh\nrm -rf /", b"%PDF-1.7 not a photo", b""])
async def test_bytes_that_are_no_image_are_refused_and_not_stored(
    client, fake_graph_api: FakeGraphApi, tmp_path: Path, data: bytes
) -> None:
    fake_graph_api.add_media("m2", data, "image/jpeg")
    stored = await fetch_media(client, LocalMediaStore(str(tmp_path)), "m2", "image/jpeg")
    assert (stored.status, stored.reason, stored.path) == ("refused", "content", None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("announced", ["graph", "webhook"])
async def test_a_checksum_mismatch_is_refused_and_not_stored(
    client, fake_graph_api: FakeGraphApi, tmp_path: Path, announced: str
) -> None:
    other = hashlib.sha256(b"another photo").digest()
    if announced == "graph":
        fake_graph_api.add_media("m3", JPEG, sha256=other.hex())
        stored = await fetch_media(client, LocalMediaStore(str(tmp_path)), "m3", "image/jpeg")
    else:  # Graph announces none; the webhook's (base64, as Meta sends it) is checked
        fake_graph_api.add_media("m3", JPEG, sha256="")
        fake_graph_api.media_info["m3"]["sha256"] = None
        stored = await fetch_media(
            client, LocalMediaStore(str(tmp_path)), "m3", "image/jpeg", base64.b64encode(other).decode()
        )
    assert (stored.status, stored.reason, stored.path) == ("refused", "checksum", None)
    assert list(tmp_path.iterdir()) == []


async def test_a_matching_base64_checksum_from_the_webhook_is_accepted(
    client, fake_graph_api: FakeGraphApi, tmp_path: Path
) -> None:
    fake_graph_api.add_media("m4", JPEG)
    digest = base64.b64encode(hashlib.sha256(JPEG).digest()).decode()
    stored = await fetch_media(client, LocalMediaStore(str(tmp_path)), "m4", "image/jpeg", digest)
    assert stored.status == "stored"


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/steal",
        "https://lookaside.fbsbx.com.attacker.example/x",
        "https://lookaside.fbsbx.com@attacker.example/x",
        "http://lookaside.fbsbx.com/x",  # the token never travels in clear
        "file:///etc/shadow",
        "not a url",
    ],
)
async def test_the_token_is_never_sent_to_a_foreign_download_host(
    client, fake_graph_api: FakeGraphApi, tmp_path: Path, url: str
) -> None:
    fake_graph_api.add_media("m5", JPEG, url=url)
    stored = await fetch_media(client, LocalMediaStore(str(tmp_path)), "m5", "image/jpeg")
    assert (stored.status, stored.reason) == ("refused", "host")
    assert not [r for r in fake_graph_api.requests if r.path.startswith("/media/download/")]


def test_meta_hosts_by_default_and_configurable(make_config) -> None:
    default = make_config()
    assert media_url_allowed("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", default)
    assert media_url_allowed(f"{default.graph_base_url}/media/download/1", default)  # the fake's
    assert not media_url_allowed("https://cdn.example.org/1", default)
    custom = make_config(media_hosts="cdn.example.org, Media.Example.Net")
    assert media_url_allowed("https://media.example.net/1", custom)
    assert not media_url_allowed("https://lookaside.fbsbx.com/1", custom)
    from_env = WhatsAppConfig.from_credentials(
        {"phone_number_id": "1", "access_token": "t", "allow_unsigned_webhooks": True},
        environ={"WHATSAPP_MEDIA_HOSTS": "a.example"},
    )
    assert "a.example" in from_env.allowed_media_hosts


async def test_a_redirect_is_not_followed_with_the_token(
    client, fake_graph_api: FakeGraphApi, tmp_path: Path
) -> None:
    fake_graph_api.add_media("m6", JPEG, url=f"{fake_graph_api.base_url}/media/redirect/m6")
    stored = await fetch_media(client, LocalMediaStore(str(tmp_path)), "m6", "image/jpeg")
    assert (stored.status, stored.path) == ("failed", None)
    assert not [r for r in fake_graph_api.requests if r.path.startswith("/media/download/")]
