"""Who may operate the Seeker: operator tokens, the password and admin
sessions (`operators`), the sign-in limit (`logins`), the client a request
forwarded by a trusted front comes from (`forwarded`), and the authentication
every HTTP route goes through (`auth`).

May import: seeker.errors, seeker.state, channel.errors, channel.jsonweb, channel.wire.
"""
