"""Running a scenario on the hub of a fresh event loop, in the test's own process."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from realtime.hub import get_hub


def run_on_hub(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Return what `scenario()` returns, run on a new loop whose hub is closed at the end
    (its link and doorbell tasks would otherwise die with the loop, mid-wait)."""

    async def main() -> Any:
        try:
            return await scenario()
        finally:
            await get_hub().close()

    return asyncio.run(main())
