"""What went wrong with a failed job, in one plain sentence, and what to change.

The pipeline keeps the raw error (the toolchain's words, hashes and all) on the job; this module
reads it with the job's options and says it the way a person can act on: which option to
change and to what, or that running it again is the thing to do. The raw error stays available,
folded away, for whoever wants it.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jobs.scaffolds import TEMPLATES

TEST_FUNDS = "1,000,000 ETH"
"""What each test account of the smoke test's chain holds (toolchain/server.mjs FUNDS)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Explanation:
    """A failure, said for a person."""

    title: str
    """A few words, without any value the person typed (kept in the journey records)."""
    sentence: str
    """What went wrong, in one plain sentence."""
    advice: str
    """What to change, or what to do."""
    field: str = ""
    """The option to change, if one is to blame ("" when none is)."""

    @property
    def message(self) -> str:
        """Return the sentence and the advice, one per line (the final event's message)."""
        return f"{self.sentence}\n{self.advice}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Failure:
    """What the explanation reads: the raw error and where and with what it happened."""

    error: str
    """The raw error recorded on the job."""
    template: str
    """The template key."""
    params: Mapping[str, Any]
    """The job's options."""
    step_label: str = ""
    """The step that was running ("" if none had started)."""


Rule = Callable[[Failure], Explanation | None]


def explain(failure: Failure) -> Explanation:
    """Return the failure in plain words: the first rule that recognises it, else a general one."""
    for rule in RULES:
        found = rule(failure)
        if found is not None:
            return found
    return Explanation(
        title="Unexpected error",
        sentence=f"Generation stopped on an unexpected error{_during(failure)}.",
        advice="Run it again; if it fails the same way, the technical details say what went "
        "wrong (and help the team fix it).",
    )


def _during(failure: Failure) -> str:
    return f" during “{failure.step_label}”" if failure.step_label else ""


def _mint_above_funds(failure: Failure) -> Explanation | None:
    field = price_option(failure.template)
    if "enough funds" not in failure.error or not field:
        return None
    return Explanation(
        title="Mint price above the test accounts' funds",
        sentence="The smoke test could not mint a token: the mint price is more than a test "
        f"account holds ({TEST_FUNDS}).",
        advice=f"Lower the mint price to at most {TEST_FUNDS}, then generate again.",
        field=field,
    )


def price_option(template: str) -> str:
    """Return the name of the template's mint price option ("" if it has none)."""
    options = TEMPLATES[template].options if template in TEMPLATES else ()
    return next((o.name for o in options if o.name.startswith("mint_price")), "")


def _above_funds(failure: Failure) -> Explanation | None:
    if "enough funds" not in failure.error:
        return None
    return Explanation(
        title="Transaction above the test accounts' funds",
        sentence="A transaction of the smoke test needed more ether than a test account holds "
        f"({TEST_FUNDS}).",
        advice="Lower the amounts among the options (prices, fees), then generate again.",
    )


def _worker_lost(failure: Failure) -> Explanation | None:
    if not failure.error.startswith("The worker stopped responding"):
        return None
    return Explanation(
        title="Worker stopped responding",
        sentence="The machine generating your project stopped responding, so the generation "
        "was abandoned.",
        advice="Nothing in your options caused this: run it again.",
    )


def _timed_out(failure: Failure) -> Explanation | None:
    if not failure.error.startswith("A step took too long"):
        return None
    return Explanation(
        title="Step took too long",
        sentence=f"A step{_during(failure)} took longer than its time limit.",
        advice="This is usually a busy machine rather than your options: run it again.",
    )


def _does_not_compile(failure: Failure) -> Explanation | None:
    if not failure.error.startswith("The contracts do not compile"):
        return None
    return Explanation(
        title="Contracts do not compile",
        sentence="The contracts generated from your options do not compile.",
        advice="A different project name or symbol often avoids it; if it keeps failing, the "
        "technical details help the team fix the template.",
    )


_SMOKE_CHECK = re.compile(r"smoke test \d+/\d+ \(([^)]*)\) failed")


def _smoke_failed(failure: Failure) -> Explanation | None:
    if not failure.error.startswith("The smoke test failed"):
        return None
    found = _SMOKE_CHECK.search(failure.error)
    check = f" (the “{found.group(1)}” check)" if found else ""
    return Explanation(
        title="Smoke test failed",
        sentence=f"The generated contracts did not do what the template promises in the "
        f"smoke test{check}.",
        advice="Look at the options that check depends on and change any unusual value, then "
        "generate again.",
    )


def _check_failed(failure: Failure) -> Explanation | None:
    if not failure.error.startswith("The generated project failed a check"):
        return None
    return Explanation(
        title="Project check failed",
        sentence="The generated project failed one of its own checks.",
        advice="Run it again; if it fails again, the technical details help the team fix it.",
    )


RULES: tuple[Rule, ...] = (
    _mint_above_funds,
    _above_funds,
    _worker_lost,
    _timed_out,
    _does_not_compile,
    _smoke_failed,
    _check_failed,
)
"""The failures recognised, most specific first."""
