"""Retrying with jittered exponential backoff, logging a failure once at warning."""

import asyncio
import logging
import random

INITIAL_DELAY_S = 0.5


class Retry:
    """Delays between attempts at one thing, and the log-once rule for its failures.

    The first failure of a streak logs at warning, the following ones at debug;
    `succeeded()` ends the streak. Delays double from `initial_s` up to
    `max_s`, each drawn between half and all of its nominal value.
    """

    def __init__(
        self, logger: logging.Logger, max_s: float, initial_s: float = INITIAL_DELAY_S
    ) -> None:
        self._logger = logger
        self._max_s = max_s
        self._initial_s = min(initial_s, max_s)
        self._nominal_s = self._initial_s
        self._failing = False

    async def after_failure(
        self, message: str, *args: object, asked_s: float | None = None
    ) -> None:
        """Log `message` (%-style with `args`) and sleep before the next attempt.

        `asked_s` is the wait the other side asked for (a 503's Retry-After, as a
        front gives while Seekers change leader): the next attempt comes after it,
        up to half again as long, and the doubling starts afresh, since the other
        side is there and says when it will serve.
        """
        if asked_s is None:
            delay_s = self._nominal_s * (0.5 + random.random() / 2)
            self._nominal_s = min(self._nominal_s * 2, self._max_s)
        else:
            delay_s = min(asked_s * (1 + random.random() / 2), self._max_s)
            self._nominal_s = self._initial_s
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        self._logger.log(level, message + "; retrying in %.1f s", *args, delay_s)
        await asyncio.sleep(delay_s)

    def succeeded(self) -> bool:
        """Reset the delays; True when this ends a streak of failures."""
        was_failing, self._failing = self._failing, False
        self._nominal_s = self._initial_s
        return was_failing
