"""What `make repro` prints last: the verdict and where to look, so a first run ends with its
answer instead of a DVC log line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardiofusion.config import MODALITY_LABELS
from cardiofusion.paths import DEFAULT_PATHS


def main() -> int:
    metrics = DEFAULT_PATHS.eval_metrics
    if not metrics.is_file():
        print(f"no {metrics} yet: the pipeline did not reach evaluate", file=sys.stderr)
        return 1
    figures = json.loads(metrics.read_text())
    shares = figures.get("contributions", {})
    listed = ", ".join(f"{MODALITY_LABELS.get(m, m)} {v:.1f} %" for m, v in shares.items())
    print(f"\nVerdict: {str(figures.get('verdict', '?')).upper()} | test AUROC "
          f"{figures.get('auroc', float('nan')):.3f} | contributions {listed}")
    report = Path("plots/report.md")
    print(f"Read {report} (every check, with intervals) and the figures beside it "
          "(plots/training_history.png, evaluation.png, modalities.png, robustness.png);\n"
          "`dvc plots show` opens the per-epoch curves; `cardiofusion promote` serves the "
          "model if the verdict passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
