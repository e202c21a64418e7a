"""The Channel: the contract between Seeker and Givers, and the results store.

Wire models, canonical JSON, identities and signatures live here, beside the
`Channel` interface, its backends and the HTTP service Givers post to.
"""
