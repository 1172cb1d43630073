"""Progress of long work on a terminal (tqdm), and silence elsewhere.

A bar is drawn on stderr only when stderr is a terminal, so logs, CI output, pipes and
tests stay clean; ``LESTER_INSPECT_PROGRESS=0`` turns it off on a terminal too, ``=1``
forces it (to see it in a pipe).
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")


def shown() -> bool:
    setting = os.environ.get("LESTER_INSPECT_PROGRESS")
    if setting in ("0", "1"):
        return setting == "1"
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(items: Iterable[T], description: str, unit: str = "it", total: Optional[int] = None) -> Iterable[T]:
    """``items``, with a bar counting them on a terminal."""
    if not shown():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, unit=unit, total=total, file=sys.stderr, leave=False, dynamic_ncols=True)


def say(message: str) -> None:
    """A line on stderr, above any bar being drawn (printing past tqdm would tear the bar)."""
    if shown():
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr, flush=True)


class _Steps:
    def __init__(self, bar):
        self._bar, self._started = bar, False

    def note(self, label: str) -> None:
        """Show what the current step is doing, without counting a step."""
        if self._bar is not None:
            self._bar.set_postfix_str(label)

    def step(self, label: str) -> None:
        """Start step ``label``: the one before it counts as done."""
        if self._bar is not None:
            if self._started:
                self._bar.update(1)
            self._bar.set_postfix_str(label)
            self._started = True


@contextlib.contextmanager
def steps(total: int, description: str, unit: str = "step") -> Iterator[_Steps]:
    """A bar of ``total`` named steps on a terminal: ``with steps(3, "capture") as s: s.step("X") ...``."""
    if not shown():
        yield _Steps(None)
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
        counter = _Steps(bar)
        yield counter
        if counter._started:
            bar.update(1)
