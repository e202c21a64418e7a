"""The blocks' indexes on both kinds of MongoDB server, checked by the index rule
(support/indexes.py) without a server: partial ones where the server has them,
whole ones where it does not (FerretDB, whose path the store tests take), each
serving every query the store sends about blocks."""

import pytest
from support.indexes import ID_ONLY, Index, problem, queries

from seeker.state.mongo_indexes import PENDING, block_indexes

pytestmark = pytest.mark.unit

# The finds the state store sends about blocks, as PyMongo writes them.
BLOCK_FINDS = [
    {"filter": {"status": PENDING, "job_id": "j", "ready_at": {"$lte": 5.0}}, "sort": {"seq": 1}},
    {"filter": {"job_id": "j", "seq": {"$gt": 3}}, "sort": {"seq": 1}},
    {"filter": {"job_id": "j", "disputed": True, "seq": {"$gt": 3}}, "sort": {"seq": 1}},
    {"filter": {"givers": "g"}, "sort": {"_id": 1}},
    {"filter": {"job_id": "j"}, "sort": {"seq": -1}, "limit": 1},
    {"filter": {"_id": "j-00001", "version": 2}},
]


def indexes(partial: bool) -> list[Index]:
    return [*ID_ONLY, *(Index.from_spec(model.document) for model in block_indexes(partial))]


@pytest.mark.parametrize("partial", [True, False], ids=["partial", "whole"])
def test_every_query_about_blocks_is_served_with_partial_indexes_or_without(
    partial: bool,
) -> None:
    for find in BLOCK_FINDS:
        (query,) = queries("find", {"find": "blocks", **find})
        assert problem(query, indexes(partial)) is None


def test_the_partial_indexes_hold_only_pending_and_disputed_blocks() -> None:
    specs = {model.document["name"]: model.document for model in block_indexes(partial=True)}
    assert specs["blocks_pending"]["partialFilterExpression"] == {"status": PENDING}
    assert specs["blocks_disputed"]["partialFilterExpression"] == {"disputed": True}
    leased = {"status": "leased", "job_id": "j", "ready_at": {"$lte": 5.0}}
    (query,) = queries("find", {"find": "blocks", "filter": leased, "sort": {"seq": 1}})
    assert problem(query, indexes(partial=True)) is not None
    assert problem(query, indexes(partial=False)) is None


def test_whole_indexes_have_the_partial_ones_names_and_keys() -> None:
    def named(partial: bool) -> list[tuple[str, list]]:
        models = block_indexes(partial)
        return [(m.document["name"], list(m.document["key"].items())) for m in models]

    assert named(partial=True) == named(partial=False)
    assert all("partialFilterExpression" not in m.document for m in block_indexes(partial=False))
