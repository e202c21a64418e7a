"""The state store interface: one document per job and one per block; Giver
records, the leader lease, the deployment's Seeker key, admission tokens and
admissions, the scraper catalog, the keys of jobs that discover keys;
schedules and one document per run of a schedule.

Every write is to a single document, and a block is only replaced over the
version it was read at, so the store needs no transactions (FerretDB 1.x has
none) and a write either lands whole or not at all. Several blocks replaced at
once (`replace_blocks`) are each such a write; a store that can commits them
together, in one round trip.
"""

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

from channel.store.whole import Whole

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Leader:
    """Who holds the leader lease, where it serves, and until when (wall clock)."""

    holder: str
    url: str
    expires_at: float


class StateStore(Whole):
    url: str

    @abstractmethod
    async def _open(self) -> None:
        """Connect and create what is missing (tables, indexes)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection; safe to call twice."""

    @abstractmethod
    async def ping(self) -> None:
        """One cheap round trip to the store, to tell it answers; StateUnavailable if
        it does not."""

    @abstractmethod
    async def put_job(self, doc: Doc) -> None:
        """Create or replace the job document `doc["job_id"]`."""

    @abstractmethod
    async def jobs(self) -> list[Doc]:
        """Every job document, oldest first."""

    @abstractmethod
    async def job(self, job_id: str) -> Doc | None:
        """One job document, or None."""

    @abstractmethod
    async def held_jobs(self, finished_since: float) -> list[Doc]:
        """The jobs not finished (no `finished_at`) and those finished at
        `finished_since` or later, oldest first: the ones a leader holds in memory."""

    @abstractmethod
    async def jobs_page(self, before: tuple[float, str] | None, limit: int) -> list[Doc]:
        """Up to `limit` jobs, newest first (by `created_at`, then id), created before
        `before` (a job's `created_at` and id) if given."""

    @abstractmethod
    async def count_jobs(self, status: str) -> int:
        """How many jobs are stored with `status`."""

    @abstractmethod
    async def delete_job(self, job_id: str) -> None:
        """Delete a job's blocks, then the job."""

    @abstractmethod
    async def insert_blocks(self, docs: list[Doc]) -> int:
        """Insert blocks, skipping any whose id is already stored; how many were new."""

    @abstractmethod
    async def block(self, block_id: str) -> Doc | None:
        """One block, or None."""

    @abstractmethod
    async def replace_block(self, doc: Doc) -> bool:
        """Store `doc` if the stored block is still at `doc["version"] - 1`; whether it was."""

    async def replace_blocks(self, docs: list[Doc]) -> list[bool]:
        """`replace_block` each of `docs` in order (several of one block each over the
        one before it); whether each was stored. Every one is stored before this
        returns."""
        return [await self.replace_block(doc) for doc in docs]

    @abstractmethod
    async def ready_blocks(self, job_id: str, now: float, limit: int) -> list[Doc]:
        """Pending blocks of a job that may be leased at `now`, lowest seq first."""

    @abstractmethod
    async def job_blocks(self, job_id: str, after_seq: int, limit: int) -> list[Doc]:
        """A page of a job's blocks in seq order, after `after_seq`."""

    @abstractmethod
    async def disputed_blocks(self, job_id: str, after_seq: int, limit: int) -> list[Doc]:
        """A page of a job's blocks whose copies disagreed (`doc["disputed"]`), in
        seq order, after `after_seq`."""

    @abstractmethod
    async def giver_blocks(self, giver_id: str) -> list[Doc]:
        """Blocks a Giver has runs on or holds a lease on."""

    @abstractmethod
    async def last_seq(self, job_id: str) -> int:
        """The highest seq among a job's blocks, or -1."""

    @abstractmethod
    async def put_givers(self, docs: list[Doc]) -> None:
        """Create or replace Giver records (`doc["giver_id"]`)."""

    @abstractmethod
    async def givers(self) -> list[Doc]:
        """Every Giver record."""

    @abstractmethod
    async def take_leader(self, holder: str, url: str, now: float, period_s: float) -> Leader:
        """Take or renew the leader lease for `holder` until `now + period_s`, if no
        one else holds it unexpired, in one atomic write; who holds it afterwards."""

    @abstractmethod
    async def seeker_key(self, pem: str) -> str:
        """The deployment's private Seeker key (PEM): the one stored, or `pem` if
        none was, stored in one insert-if-absent write, so that every Seeker
        sharing the store signs with the same key."""

    @abstractmethod
    async def insert_token(self, doc: Doc) -> None:
        """Store a new admission token `doc["token_id"]`."""

    @abstractmethod
    async def token(self, token_id: str) -> Doc | None:
        """One admission token, or None."""

    @abstractmethod
    async def tokens(self) -> list[Doc]:
        """Every admission token, oldest first."""

    @abstractmethod
    async def replace_token(self, doc: Doc) -> bool:
        """Store `doc` if the stored token is still at `doc["version"] - 1`; whether it was."""

    @abstractmethod
    async def admit(self, doc: Doc) -> Doc:
        """Store the admission of `doc["giver_id"]` unless one is stored already, in
        one insert-if-absent write; the admission stored afterwards (so an id stays
        bound to the key first admitted with it)."""

    @abstractmethod
    async def admission(self, giver_id: str) -> Doc | None:
        """A Giver's admission, or None."""

    @abstractmethod
    async def forget_admission(self, giver_id: str) -> bool:
        """Delete a Giver's admission; whether there was one."""

    @abstractmethod
    async def operators(self) -> Doc | None:
        """The operators' credentials (password hash, token hashes, session key), or None."""

    @abstractmethod
    async def replace_operators(self, doc: Doc) -> bool:
        """Store the operators' credentials if the stored ones are still at
        `doc["version"] - 1` (version 1: if none are stored); whether they were."""

    @abstractmethod
    async def insert_schedule(self, doc: Doc) -> None:
        """Store a new schedule `doc["schedule_id"]`."""

    @abstractmethod
    async def schedules(self) -> list[Doc]:
        """Every schedule, oldest first."""

    @abstractmethod
    async def schedule(self, schedule_id: str) -> Doc | None:
        """One schedule, or None."""

    @abstractmethod
    async def replace_schedule(self, doc: Doc) -> bool:
        """Store `doc` if the stored schedule is still at `doc["version"] - 1`; whether
        it was."""

    @abstractmethod
    async def delete_schedule(self, schedule_id: str) -> bool:
        """Delete a schedule's runs, then the schedule; whether there was one."""

    @abstractmethod
    async def put_run(self, doc: Doc) -> None:
        """Create or replace the run `doc["run_id"]` of schedule `doc["schedule_id"]`."""

    @abstractmethod
    async def runs(self, schedule_id: str) -> list[Doc]:
        """A schedule's runs, latest tick first."""

    @abstractmethod
    async def prune_runs(self, schedule_id: str, keep: int) -> int:
        """Delete all but the `keep` runs of latest tick of a schedule; how many went."""

    @abstractmethod
    async def put_scraper(self, doc: Doc) -> None:
        """Create or replace the catalog entry `doc["name"]`."""

    @abstractmethod
    async def scraper(self, name: str) -> Doc | None:
        """One catalog entry, or None."""

    @abstractmethod
    async def scrapers(self) -> list[Doc]:
        """Every catalog entry, by name."""

    @abstractmethod
    async def delete_scraper(self, name: str) -> bool:
        """Delete a catalog entry; whether there was one."""

    @abstractmethod
    async def claim_keys(
        self, job_id: str, keys: list[str], first_seq: int, block_size: int, limit: int
    ) -> list[tuple[str, int]]:
        """Claim for job `job_id` each of `keys` it has not claimed yet, at most
        `limit` of them, in order: the new ones with the seq of the block each goes
        to (`block_size` a block, from `first_seq`). One insert-if-absent write a key,
        so a key is claimed once however often it is offered."""

    @abstractmethod
    async def claimed_keys(self, job_id: str, min_seq: int) -> list[tuple[str, int]]:
        """The keys a job claimed for blocks `min_seq` and later, by seq."""

    @abstractmethod
    async def count_claimed(self, job_id: str, min_seq: int) -> int:
        """How many keys a job claimed for blocks `min_seq` and later."""

    @abstractmethod
    async def admissions(self) -> list[Doc]:
        """Every Giver's admission, by Giver id."""

    @abstractmethod
    async def stored_key(self) -> str | None:
        """The deployment's Seeker key (PEM) if one is stored, storing none."""
