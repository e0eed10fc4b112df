"""DVC stage `featurize`: runs `cardiofusion featurize` with params.yaml."""

import sys

from cardiofusion.cli import main

sys.exit(main(["featurize", *sys.argv[1:]]))
