"""One of several variants of a long test for the default run (CI), a different one each day,
or the one an environment variable names: every variant runs within a few days' CI, and all of
them when the suite's marker is named."""

import datetime
import os
from collections.abc import Sequence


def of_the_day[T](choices: Sequence[T], *, named_by: str) -> T:
    """Return the choice `os.environ[named_by]` names (its `str()`), else today's."""
    wanted = os.environ.get(named_by, "")
    if wanted:
        (chosen,) = [choice for choice in choices if str(choice) == wanted] or [None]
        if chosen is None:
            raise ValueError(f"{named_by}={wanted!r} names none of {[str(c) for c in choices]}")
        return chosen
    return choices[datetime.date.today().toordinal() % len(choices)]
