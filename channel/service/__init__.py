"""The Channel's HTTP service, so Givers never hold database credentials:
results posted and paged, exports, datasets; and the HTTP clients Givers and
people use against it.

May import: channel.errors, channel.jsonweb, channel.store, channel.wire.
"""
