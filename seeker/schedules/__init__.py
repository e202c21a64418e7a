"""Periodic jobs: cron expressions (`cron`), the schedule and the record of
its runs (`model`), and the leader's loop that fires them (`firing`).

May import: seeker.errors, seeker.state, seeker.work, seeker.catalog,
seeker.grid, channel.errors.
"""
