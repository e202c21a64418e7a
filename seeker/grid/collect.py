"""Reading the results Givers posted: each job's new results once, in the order the
Channel stored them, from its per-job cursor.

A job with outstanding leases is read when a Giver announced one of its results
(its Done message), and every one of them at least every `sweep_s`, for results
that came without a word (the Giver's session was down). Of a job's results
only those that answer a live lease (the lease holder's, by task id) are loaded
and counted; the others are passed over once and never read again. A job's cursor (how far
its results were read, `Job.result_cursors`) moves past a result only once the
result was counted or can never count, and it is saved with the job at most
every CURSOR_SAVE_S. Any cursor at or before that point is a safe place to
start again after a restart or a failover: a result read again either answers
no live lease any more (counting it ended its lease) or never could (a lease
is stored before its task is sent, and task ids are never reused), so it is
passed over, while a result stored meanwhile for a lease restored from the
state store lies after the saved cursor and counts. Saving now and then
instead of every round costs, after a restart, reading again at most the
results of the last few seconds.
"""

import heapq
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import islice

from channel.store.base import PAGE_LIMIT
from channel.store.factory import store_name
from channel.store.rows import StoredResult
from channel.wire.results import Result
from seeker.work.blocks import job_id_of_task
from seeker.work.manager import KeyManager

log = logging.getLogger(__name__)

# A job's cursor is saved with the job at most this often (see above).
CURSOR_SAVE_S = 5.0


@dataclass(frozen=True, slots=True)
class Answer:
    """A stored result that answers a live lease, and its job's cursor before it."""

    job_id: str
    row: StoredResult
    before: int


class Collector:
    """Reads the results to count from each job's cursor; `batch` at most a round."""

    def __init__(self, keys: KeyManager, *, batch: int, sweep_s: float) -> None:
        self._keys = keys
        self._batch = batch
        self._sweep_s = sweep_s
        self._here = store_name(keys.channel.url)
        self._announced: set[str] = set()
        self._next_sweep = 0.0
        self._unsaved: set[str] = set()
        self._next_save = 0.0

    def announce(self, task_id: str) -> None:
        """A Giver says the result of `task_id` is in the Channel."""
        self._announced.add(job_id_of_task(task_id))

    async def collect(
        self, count: Callable[[list[Result]], Awaitable[list[bool]]], now: float
    ) -> bool:
        """Count each job's new results in the order they finished, `count(results)`
        saying of each whether it was handled (False: read it again next round);
        whether results were left for the next round."""
        jobs = self._keys.jobs
        leased = {ref.job_id for ref in self._keys.leases.values()}
        announced, self._announced = self._announced, set()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_s
        else:
            leased &= announced
        reads = {job_id: await self._answers(job_id) for job_id in leased}
        ends = {job_id: end for job_id, (_, end) in reads.items()}
        merged = heapq.merge(*(answers for answers, _ in reads.values()), key=_received)
        taken = list(islice(merged, self._batch))
        # The merge keeps each job's order, so a job's results taken are the first of
        # its answers; those past the batch wait: its cursor stops before the first.
        took = Counter(answer.job_id for answer in taken)
        for job_id, (answers, _) in reads.items():
            if took[job_id] < len(answers):
                ends[job_id] = answers[took[job_id]].before
        more = len(taken) < sum(len(answers) for answers, _ in reads.values())
        loaded = [(answer, await self._keys.channel.load(answer.row)) for answer in taken]
        # Copies count in the order they finished, so `first` means first.
        loaded.sort(key=lambda pair: (pair[1].finished_at, pair[1].result_id))
        handled = await count([result for _, result in loaded])
        for (answer, _), done in zip(loaded, handled, strict=True):
            if not done:
                ends[answer.job_id] = min(ends[answer.job_id], answer.before)
        # A job not read to its end is read again next round.
        self._announced |= {job_id for job_id, end in ends.items() if end < reads[job_id][1]}
        for job_id, end in ends.items():
            job = jobs.get(job_id)
            if job is not None and job.result_cursors.get(self._here, 0) < end:
                job.result_cursors[self._here] = end
                self._unsaved.add(job_id)
        await self._save(now)
        return more

    async def _answers(self, job_id: str) -> tuple[list[Answer], int]:
        """The job's new results that answer a live lease, up to one more than a
        batch, and the cursor after every result read."""
        leases, channel = self._keys.leases, self._keys.channel
        after = self._keys.jobs[job_id].result_cursors.get(self._here, 0)
        answers: list[Answer] = []
        while len(answers) <= self._batch:
            page = await channel.results_page(job_id, after=after, limit=PAGE_LIMIT)
            for row in page.results:
                ref = leases.get(row.task_id)
                if ref is not None and ref.giver_id == row.giver_id:
                    answers.append(Answer(job_id, row, after))
                after = row.seq
            if len(page.results) < PAGE_LIMIT:
                break
        return answers, after

    async def _save(self, now: float) -> None:
        """Store the moved cursors of open jobs, once CURSOR_SAVE_S has passed."""
        if now < self._next_save or not self._unsaved:
            return
        self._next_save = now + CURSOR_SAVE_S
        unsaved, self._unsaved = self._unsaved, set()
        for job_id in unsaved:
            job = self._keys.jobs.get(job_id)
            if job is not None and job.open:
                await self._keys.store.put_job(job.to_doc())


def _received(answer: Answer) -> float:
    return answer.row.received_at
