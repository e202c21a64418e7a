"""Work: what a job is and where it stands. The job spec and its parsing, what
a job needs of a Giver, key sources (ranges, lists, files, earlier jobs,
datasets), blocks and their history, redundant copies and the choice among
them, the ledger of jobs and blocks (kept in the state store), counting a
result on its block, the key manager that leases, counts and steers on it, job
creation, state files, keys scrapers found, and the rate keys finish at.

Knows nothing of Givers' sessions or HTTP.

May import: seeker.errors, seeker.state, channel.errors, channel.store, channel.wire.
"""
