"""The Giver: the daemon a volunteer runs to lend a machine to Seekers.

Rooms, each a package whose docstring says what it holds and what it may
import (tests/test_layout.py holds every module to it), from the ground up:
- `egress/`: the egress gateway, the one way out of a task's container that
  needs the network.
- `sandbox/`: the Docker Engine's side: the sandboxed container a task runs in,
  what it leaves, and the images tasks run from.
- `terms/`: the volunteer's terms: the settings and where they come from,
  active hours, caps, and the Seeker key this Giver trusts.
- `link/`: registering, the session with the Seeker, the advert on the LAN,
  reports, and the outbox towards the Channel.
- `tasks/`: the tasks the Seeker assigns: checked, accepted, run.
- `controls/`: the volunteer's pause, `giver status`, and the control socket.
Loose modules: `errors`, `daemon` (the Giver, which assembles the rooms) and
`cli` (the `giver` command).

May import: channel.errors, channel.lifecycle, channel.service, channel.wire.
"""
