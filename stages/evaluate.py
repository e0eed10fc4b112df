"""DVC stage `evaluate`: runs `cardiofusion evaluate` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["evaluate", *sys.argv[1:]]))
