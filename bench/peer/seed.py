"""Make the peer's session: `python -m bench.peer.seed --out FILE` writes {"session": key}.

The peer's "jobs" are only channel names (`job-<uuid>`), created by its first send_event.
"""

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    """Create the staff user `bench` and a session for it in the peer's database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    import django

    django.setup()
    from bench.seed import make_session

    with open(args.out, "w") as handle:
        json.dump({"session": make_session(), "jobs": []}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
