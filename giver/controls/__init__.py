"""The volunteer's controls over a running Giver.

Here: pause (the pause, kept in a file across restarts), volunteer (pause and
resume, why the Giver takes no tasks now, `drain()` before `stop()`), status
(what `giver status` shows) and control (the socket through which `giver
pause`, `giver resume` and `giver status` reach the daemon).

May import: giver.errors, giver.egress, giver.terms, giver.link, giver.tasks,
channel.errors, channel.lifecycle, channel.wire.
"""
