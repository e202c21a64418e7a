"""The tasks the Seeker assigns, on the Giver's side.

Here: checks (whether a task may run here, and as which local image),
assignments (a task released, refused or accepted, its image fetched, its
progress reported, its slot freed) and execution (an accepted task's
container, and the Result it becomes).

May import: giver.errors, giver.egress, giver.sandbox, giver.terms, giver.link,
channel.errors, channel.wire.
"""
