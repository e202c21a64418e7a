"""The scraper catalog: what the Seeker learns of a scraper image by
reflection (`entries`), the catalog kept in the state store (`store`), the
Seeker's Docker Engine (`images`), image archives for Givers that lack an
image (`archives`), and forms generated from a settings schema (`forms`).

May import: seeker.errors, seeker.state, channel.errors, channel.wire.
"""
