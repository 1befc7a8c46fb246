"""The one acceptance check for tag patterns (auto-prune and immutability policies).

:func:`accept_pattern` runs the static check of :mod:`moorage.domain.tagpattern` and then a
bounded-time trial: the pattern is searched in adversarial tag names (128 characters of each
character the pattern names, and of ``a0._-``, ending in a character that spoils the match, plus
cycles of the pattern's own characters) in a separate Python process that is killed after
:data:`TRIAL_SECONDS`. Python's ``re`` cannot be interrupted in-process, so a separate process is
the only bounded way to try a pattern; it runs only when a policy is created or changed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from moorage.domain.tagpattern import MAX_TAG_LENGTH, PatternError, check_pattern

TRIAL_SECONDS = 2.0

_TRIAL = """
import json, re, sys
pattern, inputs = json.loads(sys.stdin.read())
compiled = re.compile(pattern)
for text in inputs:
    compiled.search(text)
print("ok")
"""


def adversarial_inputs(pattern: str) -> list[str]:
    """Tag-like strings that make a backtracking pattern do the most work."""
    named = sorted({c for c in pattern if c.isalnum() or c in "._-"} | set("a0._-"))
    out: list[str] = []
    for c in named:
        out.append(c * (MAX_TAG_LENGTH - 1) + "!")
        out.append(c * (MAX_TAG_LENGTH - 1))
    if named:
        cycle = "".join(named)
        out.append((cycle * (MAX_TAG_LENGTH // len(cycle) + 1))[: MAX_TAG_LENGTH - 1] + "!")
    return out


async def accept_pattern(text: str) -> str:
    """The pattern (stripped) when it is safe to store; PatternError saying why otherwise."""
    pattern = check_pattern(text)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-S",
        "-c",
        _TRIAL,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    data = json.dumps([pattern, adversarial_inputs(pattern)]).encode()
    try:
        out, _ = await asyncio.wait_for(proc.communicate(data), TRIAL_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PatternError(
            f"tagPattern {pattern!r} is refused: matching it against a 128-character tag name took "
            f"longer than {TRIAL_SECONDS:g} s (catastrophic backtracking); simplify it"
        ) from None
    if proc.returncode != 0 or out.strip() != b"ok":
        raise PatternError(
            f"tagPattern {pattern!r} could not be tried: it is not a usable regular expression"
        )
    return pattern
