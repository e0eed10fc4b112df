"""DVC stage `report`: runs `cardiofusion report` with params.yaml."""

import sys
from pathlib import Path

# this workspace's code, also in the copies `dvc exp run --queue/--temp` run in (an installed
# cardiofusion would be the code of the clone it was installed from)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cardiofusion.cli import main  # noqa: E402

sys.exit(main(["report", *sys.argv[1:]]))
