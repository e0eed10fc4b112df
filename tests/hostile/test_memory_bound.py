"""The worst-case memory of one request, as the README states it: decoding a maximum-budget
image and recording adds at most DECODE_BOUND_MB to the process's peak resident memory.

Measured in fresh processes (decode_peak.py) with the peak RSS the kernel records (VmHWM),
because Pillow allocates pixels outside Python's allocator, where tracemalloc cannot see them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DECODE_BOUND_MB = 300  # README, "Bad input": measured 239 MB on 2 CPU cores, Linux


def _run(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, str(HERE / "decode_peak.py"), *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_one_worst_case_request_decodes_within_the_stated_memory(tmp_path):
    _run("make", str(tmp_path))
    figures = json.loads(_run("measure", str(tmp_path)))
    assert figures["upload_mb"] < 20  # a request the API accepts (serve.max_upload_mb)
    assert 0 < figures["added_mb"] <= DECODE_BOUND_MB, figures
