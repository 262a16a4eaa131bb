"""Matching the names people write (``PAYMENTS_URL``, ``payments.svc``, ``component:default/payments``) to the
services the graph knows: lower case, ``_`` and ``.`` read as ``-``, a trailing ``-service``/``-svc`` optional.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[_.\s]+")
_SUFFIXES = ("-service", "-svc", "-api")


def normalized(name: str) -> str:
    """The form names are compared in: ``Order_Service`` -> ``order-service``."""
    return _SEPARATORS.sub("-", name.strip().lower()).strip("-")


class ServiceNames:
    """Known service names, looked up by any spelling that normalizes to them."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self._by_form: dict[str, str] = {}
        for name in self.names:
            form = normalized(name)
            self._by_form.setdefault(form, name)
        for name in self.names:  # "orders" also answers "orders-service", unless that is a service itself
            for suffix in _SUFFIXES:
                self._by_form.setdefault(normalized(name) + suffix, name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_form.values()

    def resolve(self, spelling: str) -> str | None:
        """The known service ``spelling`` refers to, or None."""
        form = normalized(spelling)
        if form in self._by_form:
            return self._by_form[form]
        for suffix in _SUFFIXES:
            if form.endswith(suffix) and form[: -len(suffix)] in self._by_form:
                return self._by_form[form[: -len(suffix)]]
        return None
