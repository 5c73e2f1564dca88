"""TURN code shared by the app (which mints credentials) and the operator (which rotates the
secret): the credential scheme coturn checks, and the Redis keys both sides use."""
