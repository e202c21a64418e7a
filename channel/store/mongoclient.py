"""The one way both MongoDB backends (the Channel's and the Seeker's state
store) make a client, ask whether the server answers, and say what went wrong:
a server that cannot be reached is one line naming it and why, not PyMongo's
description of its whole topology."""

import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pymongo
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

# How long an operation waits for a server to answer, unless the URL says.
SERVER_SELECTION_TIMEOUT_MS = 5000
# A ping gives up sooner than other operations: it is asked whether the store answers now.
PING_TIMEOUT_S = 2.0
# The codes of a refusal for an option the server does not have: FerretDB 1.x's
# NotImplemented (TTL and partial indexes, say) and MongoDB's own for an index
# option it does not know.
LACKED_OPTION_CODES = frozenset({238, 197})
INDEX_NOT_FOUND = 27


def mongo_client(url: str) -> AsyncMongoClient[dict[str, Any]]:
    """A client of the MongoDB at `url` (made without I/O), which waits
    SERVER_SELECTION_TIMEOUT_MS for a server unless the URL's
    serverSelectionTimeoutMS says otherwise."""
    named = {option.lower() for option in parse_qs(url.partition("?")[2])}
    if "serverselectiontimeoutms" in named:
        return AsyncMongoClient(url)
    return AsyncMongoClient(url, serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS)


def problem(client: AsyncMongoClient[dict[str, Any]], e: Exception) -> str:
    """What went wrong, in one line for people: the servers that could not be
    reached and why, when none answered; else PyMongo's message, brief."""
    if isinstance(e, ServerSelectionTimeoutError):
        servers = client.topology_description.server_descriptions()
        unreachable = [
            f"{host}:{port}: {_why(f'{host}:{port}: ', server.error)}"
            for (host, port), server in servers.items()
            if server.error is not None
        ]
        if unreachable:
            return f"cannot reach MongoDB at {'; '.join(unreachable)}"
    return f"MongoDB error: {brief(e)}"


def _why(address: str, error: Exception) -> str:
    """Why a server could not be reached, from PyMongo's "HOST:PORT: [Errno 111]
    Connect call failed (...)": "connection refused"."""
    text = brief(error).removeprefix(address)
    errno = re.match(r"\[Errno (-?\d+)\] ?(.*)", text)
    if errno is None:
        return text
    number, message = int(errno[1]), errno[2]
    if number > 0 and message.startswith("Connect call failed"):
        message = os.strerror(number)
    return message[:1].lower() + message[1:]


async def ping_server(client: AsyncMongoClient[dict[str, Any]]) -> None:
    """Send the server a `ping` command, server selection included, within
    PING_TIMEOUT_S; PyMongoError if it does not answer."""
    with pymongo.timeout(PING_TIMEOUT_S):
        await client.admin.command("ping")


def brief(e: Exception) -> str:
    """PyMongo's message without the timeouts and topology description it appends
    when no server could be selected."""
    return re.split(r" \(configured timeouts|, Timeout: ", str(e), maxsplit=1)[0]


def without_secrets(url: str) -> str:
    """`url` without its user info and query (a MongoDB URL's password, say), to show."""
    parts = urlsplit(url)
    if "@" not in parts.netloc and not parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


async def collections_empty(database: AsyncDatabase[dict[str, Any]], names: list[str]) -> bool:
    """Whether none of the collections `names` holds a document."""
    for name in names:
        if await database[name].find_one({}, projection={"_id": 1}) is not None:
            return False
    return True


async def wipe_collections(database: AsyncDatabase[dict[str, Any]], names: list[str]) -> None:
    """Delete every document of the collections `names` (one at a time: a store
    without transactions is emptied collection by collection)."""
    for name in names:
        await database[name].delete_many({})


async def keep_indexes(
    collection: AsyncCollection[dict[str, Any]],
    indexes: Sequence[IndexModel],
    replaced: Sequence[str] = (),
) -> None:
    """Create `indexes` on `collection` (those it has already stay as they are) and
    drop the indexes named in `replaced`, which an earlier release made and these
    replace: a store opened by this release has the same indexes, new or upgraded.
    PyMongoError goes to the caller."""
    for index in indexes:
        # One at a time: FerretDB 1.24 drops the connection when asked for several
        # indexes it has already.
        await collection.create_indexes([index])
    for name in replaced:
        try:
            await collection.drop_index(name)
        except OperationFailure as e:
            if e.code != INDEX_NOT_FOUND:
                raise


def lacks_option(e: OperationFailure) -> bool:
    """Whether the server refused a command for an option it does not have, rather
    than for what the command asks of it."""
    return e.code in LACKED_OPTION_CODES
