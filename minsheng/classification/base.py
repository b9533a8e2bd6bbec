"""What every appeal classifier offers the rest of the platform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

# (category code or label, confidence in [0, 1])
Prediction = tuple[str, float]


@runtime_checkable
class Classifier(Protocol):
    """A classifier of appeal texts: the keyword rules of a new installation or a trained model.

    ``predict`` returns one ``(label, confidence)`` per text, in the order given.
    """

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...
