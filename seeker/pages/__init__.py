"""HTML pages for people besides the admin pages: the interactive explorer of
the JSON API at /api (`explorer`), the documentation at /docs (`docs`), and
what every HTML page of the Seeker shares, the admin pages' too (`html`:
security headers, files served from memory under names that carry their
digest, the page frame).

May import: seeker.errors.
"""
