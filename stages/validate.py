"""DVC stage `validate`: runs `cardiofusion validate` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["validate", *sys.argv[1:]]))
