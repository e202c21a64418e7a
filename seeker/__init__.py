"""The Seeker: the coordinator that cuts jobs into blocks of keys, leases them
to Givers, and collects their results from the Channel."""
