"""The grid: Givers and the work placed on them. The coordinator's loop, the
results it collects, placement rounds and the placement score, trust, admission
of Givers (and the line a period that tells of their arrivals), their registry
and sessions, finding them on the LAN, the leader lease, the key
the Seeker signs tasks with, and the operator's actions on jobs and Givers
(`actions`, where every job is submitted).

May import: seeker.errors, seeker.state, seeker.work, seeker.catalog,
channel.errors, channel.lifecycle, channel.store, channel.wire.
"""
