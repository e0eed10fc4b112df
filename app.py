"""`python app.py`: serve the promoted model as params.yaml's `serve:` section says.

The same as `cardiofusion serve`; flags (--model, --host, --port, --params, --set) pass through.
"""

import sys

from cardiofusion.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
