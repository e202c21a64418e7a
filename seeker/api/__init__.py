"""The Seeker's JSON API under /api/v1: one module of routes per resource,
the OpenAPI document (`openapi/`), and what the API shares with the admin
pages: the Seeker's parts under one app key (`parts`) and one table of the
errors it answers (`errors`).

May import: seeker.errors, seeker.config, seeker.state, seeker.work,
seeker.catalog, seeker.access, seeker.grid, seeker.schedules, seeker.views,
channel.errors, channel.jsonweb, channel.service, channel.store, channel.wire.
"""
