"""django-eventstream, the closest Django peer, set up per its README: async, Redis, storage.

Runs from its own venv (bench/.peer-venv, made by bench/peer/install.py) with the same gunicorn
configuration and worker class as the project, so that only the application differs.
"""
