"""process_map: the items' results in order, in worker processes or, for one job, in this one."""

import os

import pytest

from cardiofusion.parallel import process_map


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_results_come_in_the_items_order(n_jobs: int) -> None:
    results = list(process_map(_pid_and_square, range(20), n_jobs, chunksize=3))
    assert [square for _, square in results] == [value * value for value in range(20)]


def test_one_job_runs_in_this_process_and_more_in_workers() -> None:
    # a profiler of a stage run with n_jobs=1 then sees the work, not a wait on a worker
    alone = {pid for pid, _ in process_map(_pid_and_square, range(6), 1, chunksize=2)}
    spread = {pid for pid, _ in process_map(_pid_and_square, range(6), 2, chunksize=2)}
    assert alone == {os.getpid()}
    assert os.getpid() not in spread
