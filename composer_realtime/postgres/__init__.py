"""Django's PostgreSQL backend, refusing at once while the database does not answer (base.py)."""
