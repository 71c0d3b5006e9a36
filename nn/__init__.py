"""Layers, losses, initialisation and checkpoints for autograd_core (PyTorch's ``torch.nn`` names).

>>> import autograd_core as ag
>>> import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> loss = nn.CrossEntropyLoss()(model(ag.randn(5, 4)), ag.tensor([0, 2, 1, 1, 0]))
>>> loss.backward()
"""

from .parameter import Parameter
from .module import Module
from .container import Sequential, ModuleList, ModuleDict
from .linear import Identity, Linear, Flatten, Unflatten
from .activation import ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax, LogSoftmax
from .dropout import Dropout
from .batchnorm import BatchNorm1d, BatchNorm2d, SyncBatchNorm
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .pooling import MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d
from .loss import MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss
from .serialization import save, load
from . import functional, init, parallel, utils  # noqa: F401

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "Identity", "Linear", "Flatten", "Unflatten",
    "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "BatchNorm2d",
    "SyncBatchNorm", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool2d", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "save",
    "load", "functional", "init", "parallel", "utils",
]
