"""DVC stage `crossval`: runs `cardiofusion crossval` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["crossval", *sys.argv[1:]]))
