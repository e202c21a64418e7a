"""The sandbox: the Docker Engine's side of a task.

Here: runner (what a Giver asks of whatever runs its tasks), engine (reaching
the Engine, and why not in one line), docker_runner
(the one door to it: the sandboxed container a task runs in), outputs (what a
scraper left in its output directory, judged without trust), images (the
volunteer's image policy, and the local image a task runs as), delivery
(images this Giver lacks, fetched from the Seeker), archives (an image archive
checked before the Engine sees it), fetched (the images fetched, counted
against the disk cap), probe (what this machine offers) and diagnosis (the
answer to a Seeker's Diagnose).

Knows nothing of the session with the Seeker or of the volunteer's settings.

May import: giver.errors, giver.egress, channel.errors, channel.jsonweb,
channel.wire.
"""
