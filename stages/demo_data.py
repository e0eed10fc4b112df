"""DVC stage `demo_data`: runs `cardiofusion demo-data` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["demo-data", *sys.argv[1:]]))
