"""Everything that talks to Redis: this package is the only one that imports `redis`."""
