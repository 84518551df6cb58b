"""The root of the ``keys`` package's exceptions and its ``InvalidValue``, in a module of their
own: keys._encoding raises InvalidValue and must not import keys.errors, which names Claims
(keys.claims imports keys._encoding). Import them from ``keys`` or ``keys.errors``."""

from __future__ import annotations


class KeysError(Exception):
    """Root of every exception the ``keys`` package raises on purpose."""


class InvalidValue(KeysError, ValueError):
    """A value the key format cannot carry (raised where a ValueError was raised before)."""
