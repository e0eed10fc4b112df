"""DVC stage `report`: runs `cardiofusion report` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["report", *sys.argv[1:]]))
