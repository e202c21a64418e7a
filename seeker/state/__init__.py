"""The Seeker's own state store: jobs and their blocks, Givers, tokens,
schedules, the leader lease (not the Channel's results). One interface in
`base`, a SQLite and a MongoDB backend, opened from a URL by `factory`.

May import: seeker.errors, channel.errors, channel.store, channel.wire.
"""
