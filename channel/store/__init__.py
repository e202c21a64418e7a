"""The results store: the `Channel` interface (public methods written once in
`base`), its embedded SQLite and MongoDB backends (their datasets and reader
tokens in modules of their own), the one `from_url` that picks a backend (shared
with the Seeker's state store), ingest of a posted result, group commit, export
as JSON lines or CSV, datasets and reader tokens.

May import: channel.errors, channel.files, channel.wire.
"""
