"""The wire contract both daemons and the Channel share: models, session
messages, canonical JSON (the one place wire bytes are made), Ed25519
identities and signed results, sealed records, what copies are compared by,
architecture names, image references, the LAN advert and signed requests.

Pure data and crypto: nothing here does I/O beyond reading a key file.

May import: channel.errors.
"""
