"""Read models: what the admin pages and the API show — the overview, the Givers, the
jobs and a job's blocks and records page by page, what replaying a failed
key takes and the logs of a job's failures, paging parameters, diagnostics
of the services the Seeker depends on, Prometheus metrics, and how times and
numbers read for people. Reads only; no routes.

May import: seeker.errors, seeker.state, seeker.work, seeker.catalog,
seeker.grid, channel.errors, channel.jsonweb, channel.store, channel.wire.
"""
