"""The Seeker's own state store: jobs and their blocks, Givers, tokens,
schedules, the leader lease (not the Channel's results). One interface in
`base`, a SQLite and a MongoDB backend (their jobs and their schedules, and
the keys jobs claim on MongoDB, in modules of their own), opened from a URL by
`factory`; the schema versions in `migrations`; `seeker backup` and `seeker
restore` in `backup`, over the file `archive` writes.

May import: seeker.errors, channel.errors, channel.store, channel.wire.
"""
