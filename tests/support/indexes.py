"""Whether MongoDB would serve each query a store sends from an index the store
created, without a MongoDB: the commands are captured by PyMongo's command
monitoring, reduced to their shape (which fields are matched by equality, which
by range, the sort), and checked against the server's `listIndexes`.

An index serves a query when the query's equality fields, then its sort fields
(all in the index's direction or all against it), then its range fields form a
prefix of the index's keys; or when a unique index's keys are all matched by
equality (`_id` always is one); a partial index serves only a query that
matches its filter by equality. A query with no field to bound an index and no
limit reads the whole collection: it must be one of EXEMPT, each with why it
may, and still be sorted by an index. `$or`, `$nor`, `$expr` and the like bound
nothing here (MongoDB could use an index per `$or` branch; the stores need none
of that).

`Commands` is the listener; `unserved` what it heard that no index serves.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient, monitoring

EQUALITY = frozenset({"$eq", "$in"})

# The queries that read a whole collection on purpose: (collection, shape) → why.
EXEMPT = {
    ("givers", "find {} sort _id"): "the Channel's Giver keys are read whole for a backup",
    ("job_policies", "find {} sort _id"): "the Channel's job policies are read whole for a backup",
    ("readers", "find {} sort created_at"): "reader tokens are few (one per person or program)",
    ("datasets", "find {} sort _id"): "datasets are few, each uploaded by an operator",
    ("jobs", "find {} sort created_at, _id"): "every job is read whole only for a backup",
    ("jobs", "find {}"): "the step to state schema 2 reads every job once",
    ("giver_records", "find {} sort _id"): "the Seeker loads every Giver's record once, at start",
    ("admissions", "find {} sort _id"): "admissions are read whole only for a backup",
    ("tokens", "find {} sort created_at, _id"): "admission tokens are few, made by operators",
    ("scrapers", "find {} sort _id"): "the catalog holds a few scrapers",
    ("schedules", "find {} sort created_at, _id"): "schedules are few, made by operators",
    ("*", "delete {}"): "a restore empties every collection whole",
}

# The commands that select documents with a filter, and the name of the filter
# in each (an aggregate's is its first stage's `$match`).
FILTERED = {
    "find": "filter",
    "count": "query",
    "distinct": "query",
    "findAndModify": "query",
    "update": "q",
    "delete": "q",
    "aggregate": "$match",
}


@dataclass(frozen=True, slots=True)
class Query:
    """What an index must serve of one filter a command sends to `collection`."""

    command: str
    collection: str
    equal: frozenset[str] = frozenset()
    ranges: frozenset[str] = frozenset()
    # The fields matched by equality to one value, with the value (as repr).
    values: frozenset[tuple[str, str]] = frozenset()
    sort: tuple[tuple[str, int], ...] = ()
    # It reads at most this many documents (0: as many as match).
    limit: int = 0

    @property
    def shape(self) -> str:
        """The query as the exceptions and messages name it: `find {job_id=, seq>} sort seq`."""
        fields = [f"{name}=" for name in sorted(self.equal)]
        fields += [f"{name}>" for name in sorted(self.ranges)]
        shape = f"{self.command} {{{', '.join(fields)}}}"
        if self.sort:
            shape += " sort " + ", ".join(("-" if d < 0 else "") + f for f, d in self.sort)
        return shape

    @property
    def wanted(self) -> tuple[str, ...]:
        """The keys of the index that would serve it."""
        sort = [name for name, _ in self.sort if name not in self.equal]
        ranges = sorted(self.ranges - self.equal - set(sort))
        return (*sorted(self.equal), *sort, *ranges)


@dataclass(frozen=True, slots=True)
class Index:
    """One index of a collection, as `listIndexes` describes it."""

    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    # A partial index's filter, as `Query.values`: it holds only what matches it.
    partial: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "Index":
        keys = tuple((name, int(direction)) for name, direction in spec["key"].items())
        expression = spec.get("partialFilterExpression", {})
        partial = frozenset(_values(expression))
        if len(partial) < len(expression):
            # A filter by anything but equality to plain values: it serves no query here.
            partial |= {("", "a filter by more than equality")}
        return cls(keys, bool(spec.get("unique")) or keys == (("_id", 1),), partial)


def serves(index: Index, query: Query) -> bool:
    """Whether `index` serves `query` (the rule in the module's docstring); a
    partial index only a query that matches its filter by equality."""
    if not index.partial <= query.values:
        return False
    names = [name for name, _ in index.keys]
    if index.unique and set(names) <= query.equal:
        return True
    equal = len(query.equal)
    if set(names[:equal]) != query.equal:
        return False
    sort = [(name, d) for name, d in query.sort if name not in query.equal]
    ordered = index.keys[equal : equal + len(sort)]
    if [name for name, _ in ordered] != [name for name, _ in sort]:
        return False
    if len({d * k for (_, d), (_, k) in zip(sort, ordered, strict=True)}) > 1:
        return False
    ranges = query.ranges - query.equal - {name for name, _ in sort}
    after = equal + len(sort)
    return set(names[after : after + len(ranges)]) == ranges


def problem(query: Query, indexes: Sequence[Index]) -> str | None:
    """What is wrong with `query` on a collection with `indexes`, or None."""
    if not any(serves(index, query) for index in indexes):
        have = "; ".join("(" + ", ".join(name for name, _ in i.keys) + ")" for i in indexes)
        return (
            f"{query.shape} on {query.collection}: no index serves it; one on "
            f"({', '.join(query.wanted)}) would (it has {have or 'none'})"
        )
    exempt = (query.collection, query.shape) in EXEMPT or ("*", query.shape) in EXEMPT
    if not (query.equal or query.ranges or query.limit or exempt):
        return (
            f"{query.shape} on {query.collection}: reads the whole collection; bound it, "
            "or add it to EXEMPT in tests/support/indexes.py with why it may"
        )
    return None


def problems(sent: Iterable[Query], indexes: Mapping[str, Sequence[Index]]) -> list[str]:
    """Each query of `sent` that no index of its collection in `indexes` serves, once."""
    found = (problem(query, indexes.get(query.collection, ID_ONLY)) for query in set(sent))
    return sorted({message for message in found if message})


ID_ONLY = (Index((("_id", 1),), unique=True),)


def queries(name: str, command: Mapping[str, Any]) -> list[Query]:
    """The queries one command sends (an update or delete may carry several); none
    for a command that selects nothing (an insert, a ping)."""
    if name not in FILTERED or (name == "count" and not command.get("query")):
        # A count of a whole collection reads its metadata, not its documents.
        return []
    collection = str(command[name])
    if name in ("update", "delete"):
        plural = "updates" if name == "update" else "deletes"
        return [
            _query(name, collection, statement.get("q", {}), {}, _limit(name, statement))
            for statement in command[plural]
        ]
    if name == "aggregate":
        return [_aggregate(collection, command.get("pipeline", []))]
    limit = 1 if name == "findAndModify" else abs(int(command.get("limit", 0)))
    return [
        _query(name, collection, command.get(FILTERED[name], {}), command.get("sort", {}), limit)
    ]


def _limit(name: str, statement: Mapping[str, Any]) -> int:
    """How many documents one update or delete statement touches at most (0: all)."""
    if name == "update":
        return 0 if statement.get("multi") else 1
    return int(statement.get("limit", 0))


def _aggregate(collection: str, pipeline: Sequence[Mapping[str, Any]]) -> Query:
    """An aggregate's query: its first `$match`, the `$sort` and `$limit` right after."""
    stages = list(pipeline)
    match = stages.pop(0)["$match"] if stages and "$match" in stages[0] else {}
    sort = stages.pop(0)["$sort"] if stages and "$sort" in stages[0] else {}
    limit = int(stages[0]["$limit"]) if stages and "$limit" in stages[0] else 0
    return _query("aggregate", collection, match, sort, limit)


def _query(
    command: str,
    collection: str,
    filter: Mapping[str, Any],
    sort: Mapping[str, Any],
    limit: int,
) -> Query:
    equal: set[str] = set()
    ranges: set[str] = set()
    _split(filter, equal, ranges)
    return Query(
        command,
        collection,
        frozenset(equal),
        frozenset(ranges),
        frozenset(_values(filter)),
        tuple((name, int(d)) for name, d in sort.items() if isinstance(d, int)),
        limit,
    )


def _values(filter: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The fields `filter` matches by equality to one plain value, with the value's repr."""
    for name, value in filter.items():
        if isinstance(value, Mapping) and set(value) == {"$eq"}:
            value = value["$eq"]
        if not isinstance(value, Mapping | list):
            yield name, repr(value)


def _split(filter: Mapping[str, Any], equal: set[str], ranges: set[str]) -> None:
    """Add the fields `filter` matches by equality to `equal`, the others to `ranges`."""
    for name, value in filter.items():
        if name == "$and":
            for part in value:
                _split(part, equal, ranges)
        elif name.startswith("$"):
            continue
        elif isinstance(value, Mapping) and any(op.startswith("$") for op in value):
            (equal if set(value) <= EQUALITY and len(value) == 1 else ranges).add(name)
        else:
            equal.add(name)


@dataclass
class Commands(monitoring.CommandListener):
    """The queries the clients it listens to send, by database."""

    sent: dict[str, set[Query]] = field(default_factory=dict)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        found = queries(event.command_name, event.command)
        self.sent.setdefault(event.database_name, set()).update(found)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def unserved(url: str, commands: Commands) -> list[str]:
    """What `problems` finds in every query `commands` heard, against the indexes
    the server at `url` lists for each collection queried."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        return await _unserved(client, commands)
    finally:
        await client.close()


async def _unserved(client: AsyncMongoClient[dict[str, Any]], commands: Commands) -> list[str]:
    found = []
    for name, sent in commands.sent.items():
        database = client[name]
        listed = set(await database.list_collection_names())
        indexes = {
            collection: [
                Index.from_spec(spec) async for spec in await database[collection].list_indexes()
            ]
            for collection in {query.collection for query in sent} & listed
        }
        found += [f"{name}: {message}" for message in problems(sent, indexes)]
    return found
