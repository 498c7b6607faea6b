"""The benchmark: `python -m bench --help`. Stdlib imports only here (the peer's venv loads it)."""
