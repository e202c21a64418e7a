"""The Seeker's own state store: jobs and their blocks (not the Channel)."""
