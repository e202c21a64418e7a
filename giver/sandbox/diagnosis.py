"""The Giver's answer to a Seeker's Diagnose: whether its Docker Engine answers, and
how fast.

The Engine gets ENGINE_TIMEOUT_S to answer, less than the Seeker waits, so a
stuck Engine is reported as such rather than as a Giver that did not answer.
"""

import asyncio
import time

from channel.wire.messages import Diagnosis
from giver.errors import DockerError
from giver.sandbox.runner import Runner

ENGINE_TIMEOUT_S = 2.0
# A Diagnosis names what went wrong in one line of at most this many characters.
ERROR_CHARS = 300


async def diagnose(runner: Runner, nonce: str) -> Diagnosis:
    """Ping the Engine `runner` uses; the Diagnosis answering the Diagnose `nonce`."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(ENGINE_TIMEOUT_S):
            await runner.ping()
    except TimeoutError:
        return Diagnosis(
            nonce, ok=False, error=f"the Docker Engine did not answer in {ENGINE_TIMEOUT_S:g} s"
        )
    except DockerError as e:
        return Diagnosis(nonce, ok=False, error=" ".join(str(e).split())[:ERROR_CHARS])
    return Diagnosis(nonce, ok=True, latency_ms=(time.monotonic() - started) * 1000)
