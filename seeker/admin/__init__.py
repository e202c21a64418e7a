"""The operator's admin pages: server-rendered HTML under /admin/, live over
server-sent events, every action a plain form POST that small scripts enhance.

May import: seeker.errors, seeker.config, seeker.state, seeker.work,
seeker.catalog, seeker.access, seeker.grid, seeker.schedules, seeker.views,
seeker.api, seeker.pages, channel.errors, channel.jsonweb, channel.store,
channel.wire.
"""
