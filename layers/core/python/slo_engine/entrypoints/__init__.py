"""Lambda-facing glue: builds adapters from the environment and calls the core (the only place besides adapters/
that may reach boto3, always lazily).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class EntrypointUnavailableError(RuntimeError):
    """The core layer deployed with a function does not provide the entrypoint it calls."""


def load_handle(module_name: str) -> Callable[..., Any]:
    """``module_name.handle``, imported on first use (the Lambda handlers call this once per container).

    A layer that lacks the module (an older core deployed beside a newer function) is reported as
    ``EntrypointUnavailableError``, which the HTTP handlers answer with 501 and the batch handlers fail on;
    an import error inside the module itself is a bug and propagates as it is.
    """
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if not error.name or not module_name.startswith(error.name):
            raise
        raise EntrypointUnavailableError(f"{module_name} is not in the deployed core layer") from error
    handle = getattr(module, "handle", None)
    if not callable(handle):
        raise EntrypointUnavailableError(f"{module_name} defines no handle(...)")
    return handle
