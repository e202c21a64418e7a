"""The volunteer's terms: what they lend this machine on.

Here: config (the Giver's settings as one frozen object), table (every
setting, one line each), settings (where they come from: flags, environment,
a TOML file), hours (the active hours), capacity (the caps on what the
containers use together) and pinning (the Seeker key this Giver trusts,
pinned on first contact).

May import: giver.errors, giver.egress, giver.sandbox, channel.errors,
channel.files, channel.options, channel.wire.
"""
