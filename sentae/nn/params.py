"""Splitting a model's parameters between optimizers, for models with a second player (a discriminator, a set of
classifiers) that its own optimizer steps."""
from __future__ import annotations

from torch import nn


def split_parameters(model: nn.Module, part: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(every parameter of ``model`` that is not in ``part``, the parameters of ``part``), each in registration
    order: the order an optimizer's saved state is matched by, so resumed runs keep their moments.

    >>> model = nn.ModuleDict({"body": nn.Linear(3, 2), "disc": nn.Linear(2, 1)})
    >>> rest, disc = split_parameters(model, model["disc"])
    >>> [tuple(p.shape) for p in rest], [tuple(p.shape) for p in disc]
    ([(2, 3), (2,)], [(1, 2), (1,)])
    """
    own = list(part.parameters())
    # by identity: a parameter shared with the rest of the model belongs to ``part`` only, never to both optimizers
    own_ids = {id(p) for p in own}
    return [p for p in model.parameters() if id(p) not in own_ids], own
