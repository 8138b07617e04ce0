"""Fixtures of the WhatsApp channel tests (helpers live in helpers.py)."""
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Text

import pytest
from rasa.shared.core.domain import Domain

from channels.whatsapp import WhatsAppConfig, WhatsAppInput
from tests.channels.whatsapp.helpers import ROOT, ChannelHarness, StubAgent, channel_credentials
from tests.fixtures.graph_api import FakeGraphApi


@pytest.fixture(scope="session")
def project_domain() -> Domain:
    """The project's domain.yml, as the running agent has it."""
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def credentials(fake_graph_api: FakeGraphApi, tmp_path: Path) -> Dict[Text, Any]:
    """A credentials block pointing at the fake Graph API and temporary stores."""
    return channel_credentials(fake_graph_api.base_url, tmp_path)


@pytest.fixture
def make_config(credentials: Dict[Text, Any]) -> Callable[..., WhatsAppConfig]:
    def make(**overrides: Any) -> WhatsAppConfig:
        return WhatsAppConfig.from_credentials({**credentials, **overrides}, environ={})

    return make


@pytest.fixture
async def make_harness(
    make_config: Callable[..., WhatsAppConfig], project_domain: Domain
) -> AsyncIterator[Callable[..., ChannelHarness]]:
    channels: List[WhatsAppInput] = []

    def make(
        agent: Any = None, channel: Optional[WhatsAppInput] = None, **overrides: Any
    ) -> ChannelHarness:
        channel = channel or WhatsAppInput(make_config(**overrides))
        channels.append(channel)
        return ChannelHarness(channel, agent or StubAgent(project_domain))

    yield make
    for channel in channels:
        await channel.drain(5)
        await channel.client.close()
        await channel.store.close()


@pytest.fixture
def harness(make_harness: Callable[..., ChannelHarness]) -> ChannelHarness:
    return make_harness()
