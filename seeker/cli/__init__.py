"""The `seeker` command: one module per command group, the options and the
small client of the JSON API they share, and the opening of sealed records on
export; `backup` and `restore` open the stores themselves.

May import: seeker.errors, seeker.config, seeker.daemon, seeker.front, seeker.catalog,
seeker.views, seeker.state, channel.errors, channel.files, channel.jsonweb, channel.lifecycle,
channel.options, channel.wire.
"""
