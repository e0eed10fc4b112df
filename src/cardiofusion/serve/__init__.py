"""The HTTP API and web page serving the promoted model (`python app.py`, `cardiofusion serve`)."""

from cardiofusion.serve.app import create_app, run_server

__all__ = ["create_app", "run_server"]
