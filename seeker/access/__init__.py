"""Who may operate the Seeker: operator tokens, the password and admin
sessions (`operators`), the sign-in limit (`logins`), and the authentication
every HTTP route goes through (`auth`).

May import: seeker.errors, seeker.state, channel.errors, channel.jsonweb, channel.wire.
"""
