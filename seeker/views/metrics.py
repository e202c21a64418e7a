"""The Seeker's metrics in Prometheus' text format (`GET /metrics`), read from the
live coordinator at every scrape.

One collector over a registry of this Seeker's own, never the process-wide
one. Jobs are counted by status (the finished ones the store alone holds
included, from counts kept as they finish); keys are counted over the jobs
still open (running or paused), in total and per job, so a scrape costs, and
the series stay as many as, the jobs in progress. Counters start from zero with the process, as
Prometheus' `rate()` expects. docs/operations.md lists every metric.
"""

from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from seeker.grid.coordinator import Coordinator
from seeker.grid.registry import GiverRegistry
from seeker.views.lag import LoopLag
from seeker.work.jobs import JobStatus

KEY_STATES = ("pending", "leased", "done", "failed")


class SeekerCollector(Collector):
    """The coordinator's jobs, leases, Givers and counters, and the event loop's lag,
    as metric families; `leading()` says whether this Seeker holds the leader lease."""

    def __init__(
        self,
        coordinator: Coordinator,
        givers: GiverRegistry,
        leading: Callable[[], bool],
        lag: LoopLag,
    ) -> None:
        self._coordinator = coordinator
        self._givers = givers
        self._leading = leading
        self._lag = lag

    def collect(self) -> Iterator[Metric]:
        coordinator = self._coordinator
        yield GaugeMetricFamily(
            "seekgive_leader",
            "1 while this Seeker holds the leader lease and schedules, 0 while it stands by",
            value=1 if self._leading() else 0,
        )
        yield from self._jobs()
        yield GaugeMetricFamily(
            "seekgive_leases",
            "Live leases: copies of blocks out with Givers",
            value=len(coordinator.keys.leases),
        )
        givers = self._givers.entries()
        yield GaugeMetricFamily(
            "seekgive_givers_registered", "Givers registered with this Seeker", value=len(givers)
        )
        yield GaugeMetricFamily(
            "seekgive_givers_online",
            "Registered Givers with a session open",
            value=sum(1 for entry in givers if entry.online),
        )
        yield GaugeMetricFamily(
            "seekgive_givers_flagged",
            "Givers flagged for disagreeing results; they get no work until cleared",
            value=sum(1 for record in coordinator.trust.records() if record.flagged),
        )
        counters = coordinator.counters
        yield CounterMetricFamily(
            "seekgive_tasks_sent",
            "Tasks sent to Givers (leases of block copies)",
            value=counters.tasks_sent,
        )
        results = CounterMetricFamily(
            "seekgive_results",
            "Results collected from the Channel: accepted (counted toward their block) or "
            "rejected (discarded: keys outside their task, or not sealed as required)",
            labels=["outcome"],
        )
        results.add_metric(["accepted"], counters.results_accepted)
        results.add_metric(["rejected"], counters.results_rejected)
        yield results
        yield CounterMetricFamily(
            "seekgive_keys_finished",
            "Keys that finished (done or failed for good), over every job",
            value=coordinator.keys.keys_finished,
        )
        yield CounterMetricFamily(
            "seekgive_copies_disagreed",
            "Copies of a block whose records lost the comparison with the chosen copy's",
            value=counters.copies_disagreed,
        )
        yield GaugeMetricFamily(
            "seekgive_loop_lag_p99_seconds",
            "How late the event loop ran, 99th percentile over about the last minute",
            value=self._lag.p99_s(),
        )

    def _jobs(self) -> Iterator[Metric]:
        keys = self._coordinator.keys
        by_status = keys.job_counts()
        totals = dict.fromkeys(KEY_STATES, 0)
        per_job = GaugeMetricFamily(
            "seekgive_job_keys",
            "Keys of each running or paused job, by state",
            labels=["job_id", "state"],
        )
        for job in keys.jobs.values():
            if not job.open:
                continue
            counts = job.counts()
            for state in KEY_STATES:
                totals[state] += counts[state]
                per_job.add_metric([job.job_id, state], counts[state])
        statuses = GaugeMetricFamily("seekgive_jobs", "Jobs by status", labels=["status"])
        for status in JobStatus:
            statuses.add_metric([str(status)], by_status[status])
        open_keys = GaugeMetricFamily(
            "seekgive_keys", "Keys of the running and paused jobs, by state", labels=["state"]
        )
        for state, count in totals.items():
            open_keys.add_metric([state], count)
        yield statuses
        yield open_keys
        yield per_job
