"""Loops: how the human and the model take turns.

A loop is chosen in config (``loop.type``) and resolved through the registry.
"""
from .base import Loop, build_loop, validate_loop
from . import active  # noqa: F401  (registers the built-in loop)

__all__ = ["Loop", "build_loop", "validate_loop"]
