"""Client of Rasa's HTTP API: the bot speaks to a citizen, and resumes after a handoff.

``say`` runs a response through ``/execute`` on the channel the citizen last wrote
from (``output_channel=latest``); ``resume`` first removes the pause the bot set
when it handed the conversation over.
"""
import asyncio
import logging
from typing import Any, Dict, Optional
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)


class AssistantError(Exception):
    """Rasa did not accept the call (down, refused, or answered an error)."""


class Assistant:
    def __init__(self, base_url: str, token: Optional[str] = None, timeout_s: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def _params(self, **extra: str) -> Dict[str, str]:
        params = dict(extra)
        if self._token:
            params["token"] = self._token
        return params

    async def _post(self, path: str, body: Dict[str, Any], **params: str) -> None:
        url = f"{self._base_url}{path}"
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(url, json=body, params=self._params(**params)) as response:
                    if response.status >= 300:
                        raise AssistantError(f"Rasa answered HTTP {response.status} on {path.split('/')[-1]}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:  # not the builtin before 3.11
            raise AssistantError(f"{type(error).__name__} calling Rasa") from error

    async def say(self, citizen_id: str, response: str) -> None:
        await self._post(f"/conversations/{quote(citizen_id, safe='')}/execute",
                         {"name": response}, output_channel="latest")

    async def resume(self, citizen_id: str, response: str) -> None:
        await self._post(f"/conversations/{quote(citizen_id, safe='')}/tracker/events",
                         {"event": "resume"})
        await self.say(citizen_id, response)
