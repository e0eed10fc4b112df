"""DVC stage `train`: runs `cardiofusion train` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
