"""The stores release 0.1.0 wrote (tests/fixtures/release-0.1.0), put where a test
opens them, and what a store holds, read past the code under test."""

import asyncio
import gzip
import sqlite3
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import AsyncMongoClient

from support.base import TESTS

RELEASE = TESTS / "fixtures" / "release-0.1.0"
Contents = dict[str, list[Any]]


def expected(backend: str) -> dict[str, Any]:
    """What the release's stores on `backend` held: the finished job and its records."""
    return dict(json_util.loads((RELEASE / "expected.json").read_text())[backend])


async def previous_stores(backend: str, tmp_path: Path, mongo_url: str) -> tuple[str, str]:
    """The release's state store and results store on `backend`, copied for this test:
    their URLs (one fresh MongoDB database holds both on "mongodb")."""
    if backend == "sqlite":
        state, store = [
            await asyncio.to_thread(_unpack, name, tmp_path / "previous")
            for name in ("seeker.sqlite3", "channel.sqlite3")
        ]
        return f"sqlite:///{state}", f"sqlite:///{store}"
    collections = json_util.loads(await asyncio.to_thread((RELEASE / "mongo.json").read_text))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        database = client.get_default_database()
        for name, docs in collections.items():
            if docs:
                await database[name].insert_many(docs)
    finally:
        await client.close()
    return mongo_url, mongo_url


def _unpack(name: str, folder: Path) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / name
    path.write_bytes(gzip.decompress((RELEASE / f"{name}.gz").read_bytes()))
    path.chmod(0o600)
    return path


def _rows(path: str) -> Contents:
    db = sqlite3.connect(path)
    try:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {table: sorted(db.execute(f"SELECT * FROM {table}")) for table in tables}
    finally:
        db.close()


async def contents(url: str) -> Contents:
    """Every row of every table of a SQLite file, or every document of every
    collection of a MongoDB database, as stored."""
    if url.startswith("sqlite:///"):
        return await asyncio.to_thread(_rows, url.removeprefix("sqlite:///"))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        database = client.get_default_database()
        return {
            name: [doc async for doc in database[name].find({}, sort=[("_id", 1)])]
            for name in await database.list_collection_names()
        }
    finally:
        await client.close()
