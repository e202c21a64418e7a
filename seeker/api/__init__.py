"""The Seeker's JSON API under /api/v1: one module of routes per resource,
the OpenAPI document (`openapi/`), its explorer at /api (`explorer`), the docs
at /docs (`docs_pages`), and what the API shares with the admin pages
(`pages`: security headers and static files).

May import: seeker.errors, seeker.config, seeker.state, seeker.work,
seeker.catalog, seeker.access, seeker.grid, seeker.schedules, seeker.views,
channel.errors, channel.jsonweb, channel.service, channel.store, channel.wire.
"""
