"""gunicorn's config module for code/serve (``-c python:mcc_runtime.gunicorn_config``): only server hooks, since
gunicorn reads every name here as a setting; the options themselves are on the command line."""

from .worker_sockets import post_worker_init, pre_fork

__all__ = ["post_worker_init", "pre_fork"]
