"""A map over worker processes, or in this process when one is asked for (as joblib does): no
pool to start, and a profiler run with `n_jobs=1` sees the work itself, not a wait on workers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from multiprocessing import Pool
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def process_map(function: Callable[[Item], Result], items: Iterable[Item], n_jobs: int,
                chunksize: int, initializer: Callable[[], None] | None = None
                ) -> Iterator[Result]:
    """`function` over `items` in order; `initializer` sets up each worker process (it is not
    run in this process, whose settings it would change for good)."""
    if n_jobs == 1:
        yield from map(function, items)
        return
    with Pool(n_jobs, initializer=initializer) as pool:
        yield from pool.imap(function, items, chunksize=chunksize)
