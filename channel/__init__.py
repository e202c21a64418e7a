"""The Channel: the contract between Seeker and Givers, and the results store.

Rooms:
- `wire/`: what crosses between processes — models, session messages,
  canonical JSON, identities, signatures, sealing. Both daemons speak it.
- `store/`: the results store — the `Channel` interface, its SQLite and
  MongoDB backends, ingest, export, datasets, reader tokens.
- `service/`: the HTTP service in front of the store, and its clients.

Loose modules shared by every daemon: `errors` (the root error), `lifecycle`
(the shape every daemon has), `jsonweb` (JSON for aiohttp apps), `options`
(one table of a daemon's flags, variables and settings file), `files`
(files only their owner may read), and the `channel` CLI (`cli`, `dataset_cli`).

May import: nothing.
"""
