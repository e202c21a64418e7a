"""The rule that decides whether MongoDB would serve a query from an index
(support/indexes.py), on commands and index listings written out by hand."""

import pytest
from support.indexes import EXEMPT, ID_ONLY, Index, Query, problem, problems, queries, serves

pytestmark = pytest.mark.unit


def index(*keys: str, unique: bool = False) -> Index:
    """An index on `keys`; a leading "-" makes a key descending."""
    return Index(tuple((k.lstrip("-"), -1 if k.startswith("-") else 1) for k in keys), unique)


def find(filter: dict, sort: dict | None = None, limit: int = 0) -> Query:
    (query,) = queries(
        "find", {"find": "blocks", "filter": filter, "sort": sort or {}, "limit": limit}
    )
    return query


def test_equality_then_sort_then_range_fields_must_lead_the_index() -> None:
    query = find({"status": "pending", "job_id": "j", "ready_at": {"$lte": 5}}, {"seq": 1})
    assert serves(index("status", "job_id", "seq", "ready_at"), query)
    assert serves(index("job_id", "status", "seq", "ready_at", "more"), query)
    assert not serves(index("status", "job_id", "seq"), query)
    assert not serves(index("status", "job_id", "ready_at", "seq"), query)
    assert not serves(index("job_id", "seq", "status", "ready_at"), query)


def test_a_sort_is_served_all_along_the_index_or_all_against_it() -> None:
    query = find({"job_id": "j"}, {"seq": -1, "at": -1})
    assert serves(index("job_id", "seq", "at"), query)
    assert serves(index("job_id", "-seq", "-at"), query)
    assert not serves(index("job_id", "seq", "-at"), query)


def test_a_field_both_sorted_and_bounded_needs_one_place_in_the_index() -> None:
    query = find({"job_id": "j", "seq": {"$gt": 3}}, {"seq": 1})
    assert serves(index("job_id", "seq"), query)


def test_a_sort_on_a_field_matched_by_equality_needs_no_key() -> None:
    assert serves(index("job_id"), find({"job_id": "j"}, {"job_id": 1}))


def test_a_unique_index_all_matched_by_equality_serves_whatever_else_is_asked() -> None:
    query = find({"_id": "b1", "version": 3})
    assert problem(query, ID_ONLY) is None
    assert serves(index("token_id", unique=True), find({"token_id": "t", "at": {"$gt": 1}}))
    assert not serves(index("token_id", "x", unique=True), find({"token_id": "t"}, {"at": 1}))


def test_in_and_eq_are_equality_other_operators_are_ranges() -> None:
    query = find({"a": {"$in": [1, 2]}, "b": {"$eq": 1}, "c": {"$ne": 1}, "d": {"$gte": 1}})
    assert query.equal == {"a", "b"} and query.ranges == {"c", "d"}
    assert find({"doc": {"nested": 1}}).equal == {"doc"}


def test_and_is_taken_apart_and_or_bounds_nothing() -> None:
    query = find({"$and": [{"a": 1}, {"b": {"$lt": 2}}], "$or": [{"c": 1}, {"d": 1}]})
    assert (query.equal, query.ranges) == ({"a"}, {"b"})


def test_a_query_no_index_serves_is_named_with_the_index_that_would() -> None:
    query = find({"job_id": "j", "disputed": True, "seq": {"$gt": 1}}, {"seq": 1}, limit=10)
    assert problem(query, [*ID_ONLY, index("job_id", "seq")]) == (
        "find {disputed=, job_id=, seq>} sort seq on blocks: no index serves it; "
        "one on (disputed, job_id, seq) would (it has (_id); (job_id, seq))"
    )


def test_a_full_listing_fails_unless_exempt_and_still_needs_its_sort_indexed() -> None:
    listing = find({}, {"created_at": 1})
    assert problem(listing, [*ID_ONLY, index("created_at")]) == (
        "find {} sort created_at on blocks: reads the whole collection; bound it, "
        "or add it to EXEMPT in tests/support/indexes.py with why it may"
    )
    assert problem(find({}, limit=1), ID_ONLY) is None
    (exempt,) = queries("find", {"find": "readers", "filter": {}, "sort": {"created_at": 1}})
    assert ("readers", exempt.shape) in EXEMPT
    assert problem(exempt, [*ID_ONLY, index("created_at")]) is None
    assert "no index serves it" in (problem(exempt, ID_ONLY) or "")


def test_every_exception_says_why() -> None:
    assert all(why.strip() for why in EXEMPT.values())


def test_updates_and_deletes_give_one_query_per_statement_with_their_limit() -> None:
    command = {"update": "jobs", "updates": [{"q": {"_id": 1}}, {"q": {"a": 1}, "multi": True}]}
    assert [(q.equal, q.limit) for q in queries("update", command)] == [({"_id"}, 1), ({"a"}, 0)]
    (wipe,) = queries("delete", {"delete": "jobs", "deletes": [{"q": {}, "limit": 0}]})
    assert problem(wipe, ID_ONLY) is None
    (one,) = queries("delete", {"delete": "jobs", "deletes": [{"q": {"a": 1}, "limit": 1}]})
    assert "(a) would" in (problem(one, ID_ONLY) or "")


def test_find_and_modify_and_an_aggregates_first_match_and_sort_are_queries() -> None:
    (modify,) = queries(
        "findAndModify", {"findAndModify": "c", "query": {"a": 1}, "sort": {"b": 1}}
    )
    assert (modify.equal, modify.sort, modify.limit) == ({"a"}, (("b", 1),), 1)
    pipeline = [{"$match": {"job_id": "j", "seq": {"$gte": 2}}}, {"$sort": {"seq": 1}}]
    (counted,) = queries("aggregate", {"aggregate": "c", "pipeline": [*pipeline, {"$limit": 5}]})
    assert (counted.equal, counted.ranges, counted.sort, counted.limit) == (
        {"job_id"},
        {"seq"},
        (("seq", 1),),
        5,
    )
    (grouped,) = queries("aggregate", {"aggregate": "c", "pipeline": [{"$group": {"_id": 1}}]})
    assert "reads the whole collection" in (problem(grouped, ID_ONLY) or "")


def test_commands_that_select_nothing_give_no_query() -> None:
    assert queries("insert", {"insert": "c", "documents": [{"a": 1}]}) == []
    assert queries("count", {"count": "c"}) == []
    assert queries("listIndexes", {"listIndexes": "c"}) == []


def test_each_unserved_query_is_reported_once_against_its_own_collection() -> None:
    sent = [find({"job_id": "j"}), find({"job_id": "j"}), find({"_id": "x"})]
    assert problems(sent, {"blocks": [*ID_ONLY, index("job_id")]}) == []
    assert len(problems(sent, {})) == 1


def test_an_index_listing_is_read_as_mongodb_writes_it() -> None:
    assert Index.from_spec({"key": {"_id": 1}, "name": "_id_"}).unique
    assert Index.from_spec({"key": {"a": 1, "b": -1}, "unique": True}) == index(
        "a", "-b", unique=True
    )


def test_a_partial_index_serves_only_queries_that_match_its_filter_by_equality() -> None:
    pending = Index.from_spec(
        {"key": {"status": 1, "seq": 1}, "partialFilterExpression": {"status": "pending"}}
    )
    assert serves(pending, find({"status": "pending"}, {"seq": 1}))
    assert serves(pending, find({"status": {"$eq": "pending"}}, {"seq": 1}))
    assert not serves(pending, find({"status": "leased"}, {"seq": 1}))
    assert not serves(pending, find({"status": {"$in": ["pending"]}}, {"seq": 1}))
    recent = Index.from_spec({"key": {"at": 1}, "partialFilterExpression": {"at": {"$gt": 5}}})
    assert not serves(recent, find({"at": {"$gt": 5}}))
