"""The optimiser part of the scikit-learn estimators (``reducers.estimators``): the command
line's ``optim=adam|sgd`` and its ``optim.*`` keys as one small settings object. The defaults
are the command line's (``conf/optim/*.yaml``; a test keeps the two the same)."""

from dataclasses import dataclass
from enum import Enum

import torch

from reducers.checks import require


class OptimizerName(str, Enum):
    adam = "adam"
    sgd = "sgd"


DEFAULT_LR = {OptimizerName.adam: 1e-3, OptimizerName.sgd: 0.01}  # conf/optim/<name>.yaml


@dataclass(kw_only=True)
class Optimizer:
    """``Optimizer(name="sgd", lr=0.01)``: what builds the torch optimiser of a fit."""

    name: OptimizerName = OptimizerName.adam  # adam | sgd (plain, as the blog's)
    lr: float | None = None  # None: the command line's default for ``name`` (DEFAULT_LR)
    weight_decay: float = 0.0  # L2 penalty on the weights
    momentum: float = 0.0  # sgd only, in [0, 1)
    fused: bool = True  # one fused kernel per update step

    def __post_init__(self):
        self.name = OptimizerName(self.name)
        require(self.lr is None or self.lr > 0, "lr", self.lr, "must be > 0 (None: default)")
        require(self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")
        require(0 <= self.momentum < 1, "momentum", self.momentum, "must be in [0, 1)")
        require(self.name is OptimizerName.sgd or self.momentum == 0, "momentum",
                self.momentum, "is SGD's: set name='sgd' or leave it 0")

    def build(self, parameters) -> torch.optim.Optimizer:
        """The torch optimiser over ``parameters``, as the command line builds it."""
        lr = DEFAULT_LR[self.name] if self.lr is None else self.lr
        if self.name is OptimizerName.sgd:
            return torch.optim.SGD(parameters, lr=lr, momentum=self.momentum,
                                   weight_decay=self.weight_decay, fused=self.fused)
        return torch.optim.Adam(parameters, lr=lr, weight_decay=self.weight_decay,
                                fused=self.fused)
