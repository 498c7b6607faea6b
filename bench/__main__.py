"""Run the benchmark: `.venv/bin/python -m bench [options]` (see bench/run.py)."""

from bench.run import main

raise SystemExit(main())
