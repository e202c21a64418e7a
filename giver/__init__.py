"""The Giver: the daemon a volunteer runs to lend a machine to Seekers.

May import: channel.errors, channel.files, channel.jsonweb, channel.lifecycle,
channel.options, channel.service, channel.wire.
"""
