"""The front: one address in front of several Seekers sharing a state store.

It asks every Seeker behind it who leads, forwards each request (HTTP, streamed
both ways, and WebSocket sessions) to the leader, answers 503 `no_leader` while
none does, and closes the sessions it relays when the leader changes so that
their clients dial again and reach the new one. It keeps no state of its own:
any number of fronts may run, and one may be restarted at any time.
- `config`: its settings.
- `leader`: asking the Seekers who leads, and the choice among their answers.
- `headers`: which headers pass, and the X-Forwarded-* ones it adds.
- `forward`: forwarding an HTTP request, streamed both ways.
- `sockets`: relaying a WebSocket session.
- `daemon`: the front itself, its own `GET /healthz`, and its lifecycle.

May import: seeker.errors, seeker.startup, channel.jsonweb, channel.lifecycle.
"""
