"""The link to the Seeker and the Channel.

Here: registration (the signed self-description, over HTTP or in the
session), session (the WebSocket session, whichever side dialled), advertiser
(the advert on the LAN over mDNS), listener (where a Seeker that found this
Giver on the LAN dials it), registrant (how a Giver reaches a Seeker and
learns where its results go), reporter (keeping the Seeker's view of this
Giver current), outbox (each result kept on disk until the Channel
acknowledges it) and retry (the backoff of every redial and repost).

May import: giver.errors, giver.egress, giver.sandbox, giver.terms,
channel.errors, channel.jsonweb, channel.lifecycle, channel.service,
channel.wire.
"""
