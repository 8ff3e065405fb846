"""Dashboard components, one :class:`~panel.viewable.Viewer` each.

Importing this package registers every component type with the registry, so
a layout's ``type: scatter`` resolves to :class:`ScatterView`.
"""
from .base import Component
from .detail import DetailView
from .find import FindPanel
from .grid import GridView
from .keyboard import KeyCapture
from .labelling import LabellingPanel
from .light_curve import LightCurveRenderer
from .metrics import MetricsPanel
from .model import ModelPanel
from .query import QueryPanel
from .review import ReviewPanel
from .scatter import ScatterView
from .session_panel import SessionPanel
from .testset import HeldOutPanel

__all__ = [
    "Component",
    "DetailView",
    "FindPanel",
    "GridView",
    "HeldOutPanel",
    "KeyCapture",
    "LabellingPanel",
    "LightCurveRenderer",
    "MetricsPanel",
    "ModelPanel",
    "QueryPanel",
    "ReviewPanel",
    "ScatterView",
    "SessionPanel",
]
