"""The egress gateway: the one way out of a task's container that needs the network.

Such a container runs with no network of its own (`--network none`); the
Giver binds a unix socket into it, and on the other end an HTTP forward proxy
(CONNECT for TLS) checks every request against the volunteer's rules before
it connects: their allowed and denied hosts and ports, no address of this
machine or home network unless they list it, checked after resolution and
connected to as checked, and their traffic caps and rates. It records where each job's
requests went. The gateway runs in a thread of its own, so a large transfer
never delays the Giver's session.

Here: addresses (which names, addresses and ports may be reached), local
(this machine's own addresses and networks, as its kernel sees them), proxy
(reading a request, writing an answer), forwarding (one connection: check,
connect, move, record), traffic (caps and rates, counted across restarts),
ledger (what each job contacted: the live view and the log), gateway (the
doors and the thread they are served on).

May import: giver.errors, channel.wire.sandbox.
"""
