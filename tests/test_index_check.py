"""The index check on a real server: what a client sends is heard by the
listener and checked against the indexes FerretDB lists (support/indexes.py;
the rule itself is in test_index_rule.py)."""

from pymongo import AsyncMongoClient
from support.indexes import Commands, unserved


async def test_a_query_no_index_serves_is_heard_and_named(ferretdb: str, mongo_url: str) -> None:
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(mongo_url, event_listeners=[commands])
    try:
        database = client.get_default_database()
        await database["things"].create_index([("a", 1)])
        await database["things"].find_one({"a": 1})
        await database["things"].find_one({"b": 1})
        await database["things"].update_one({"_id": 1}, {"$set": {"b": 2}})
    finally:
        await client.close()
    found = await unserved(f"mongodb://{ferretdb}/?directConnection=true", commands)
    assert found == [
        f"{database.name}: find {{b=}} on things: no index serves it; one on (b) would "
        "(it has (_id); (a))"
    ]
