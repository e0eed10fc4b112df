"""Errors a user can act on: the CLI prints their message and exits without a traceback."""


class CardiofusionError(Exception):
    """A problem with the user's input or data; the message says what and what to do."""

    exit_code = 1


class ConfigError(CardiofusionError):
    """params.yaml (or a --set override) is invalid."""

    exit_code = 2
