"""The wire contract both daemons and the Channel share: tasks (`models`), what
a Giver says of itself (`givers`) and returns (`results`), session messages,
canonical JSON (the one place wire bytes are made), Ed25519 identities and
signed results, sealed records, what copies are compared by, architecture
names, image references, the LAN advert, signed requests, the sandbox a task's
container runs in (`sandbox`), and the bearer tokens every kind of access uses
(`tokens`).

Pure data and crypto: nothing here does I/O beyond reading a key file.

May import: channel.errors, channel.files.
"""
