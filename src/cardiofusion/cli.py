"""`cardiofusion <stage> [--params FILE] [--set key=value ...]`: every pipeline stage by hand.

User errors (bad params, bad data) print one clear message and exit non-zero without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from cardiofusion.config import Params, ServeParams, load_params
from cardiofusion.errors import CardiofusionError, ConfigError


def _demo_data(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.demo.generate import generate_demo

    return generate_demo(params.demo, params.seed)


def _validate(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.data.validate import run_validate

    return run_validate(params)


def _featurize(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.features.featurize import run_featurize

    return run_featurize(params)


def _train(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.training.train import run_train

    return run_train(params, resume=args.resume)


def _evaluate(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.evaluation.evaluate import run_evaluate

    return run_evaluate(params)


def _crossval(params: Params, args: argparse.Namespace) -> object:
    if params.crossval.folds == 0:  # off: no torch, no features to read
        from cardiofusion.crossval.off import write_crossval_off

        return write_crossval_off()
    from cardiofusion.crossval.run import run_crossval

    return run_crossval(params)


def _report(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.reporting.report import run_report

    return run_report(params)


def _promote(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.serve.promote import run_promote

    return run_promote(params, force=args.force, stage=args.stage or None)


def _serve(params: Params, args: argparse.Namespace) -> object:
    from cardiofusion.serve import run_server

    flags = {"model": args.model, "host": args.host, "port": args.port, "workers": args.workers}
    given = {key: value for key, value in flags.items() if value is not None}
    try:
        serve = ServeParams.model_validate({**params.serve.model_dump(), **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"--{error['loc'][0]}: {error['msg']}") from None
    model = serve.model
    if args.stage:
        from cardiofusion.serve.registry import model_at_stage

        model = model_at_stage(args.stage)
    return run_server(model, params.model_copy(update={"serve": serve}), args.params, args.set)


# Imports happen inside each command so `cardiofusion validate` does not pay for torch.
COMMANDS: dict[str, tuple[Callable[[Params, argparse.Namespace], object], str]] = {
    "demo-data": (_demo_data, "write the demo dataset (ECG images, PCG WAVs, metadata CSV)"),
    "validate": (_validate, "check the metadata CSV and its files; write manifest and split"),
    "featurize": (_featurize, "decode every file once into cached feature arrays"),
    "train": (_train, "train the multimodal model with balancing and early stopping"),
    "evaluate": (_evaluate, "test-set metrics, modality contributions and the verdict"),
    "crossval": (_crossval, "grouped k-fold cross-validation: pooled out-of-fold figures"),
    "report": (_report, "draw the training and evaluation figures and plots/report.md"),
    "promote": (_promote, "make the retrained model the served one (if its evaluation passed)"),
    "serve": (_serve, "HTTP API and upload page for the promoted model"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cardiofusion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--params", default="params.yaml", help="params file (params.yaml)")
        sub.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="override a parameter, e.g. --set train.epochs=5 (repeatable)")
        if name == "demo-data":
            sub.add_argument("out", nargs="?", help="output folder (demo.out_dir)")
            sub.add_argument("--patients", type=int, help="number of patients (demo.patients)")
            sub.add_argument("--seed", type=int, help="random seed (seed)")
        if name == "train":
            sub.add_argument("--resume", action="store_true",
                             help="continue from the last completed epoch (same params)")
        if name == "promote":
            sub.add_argument("--force", action="store_true",
                             help="promote even if the evaluation failed, is missing or stale")
            sub.add_argument("--stage", default="prod",
                             help="registry stage to assign with GTO (prod); '' = no registry")
        if name == "serve":
            sub.add_argument("--model", help="model file (serve.model)")
            sub.add_argument("--host", help="interface to listen on (serve.host)")
            sub.add_argument("--port", type=int, help="port (serve.port)")
            sub.add_argument("--workers", type=int, help="worker processes (serve.workers)")
            sub.add_argument("--stage", help="serve the registry's model at this GTO stage "
                                             "(e.g. prod) instead of serve.model")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = list(args.set)
    if args.command == "demo-data":
        shortcuts = {"demo.out_dir": args.out, "demo.patients": args.patients, "seed": args.seed}
        overrides += [f"{key}={value}" for key, value in shortcuts.items() if value is not None]
    try:
        params = load_params(args.params, overrides)
        COMMANDS[args.command][0](params, args)
    except CardiofusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: files are written atomically, nothing half-written was left; "
              "continue training with `cardiofusion train --resume && dvc commit -f train && "
              "dvc repro` (README: Resuming)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
