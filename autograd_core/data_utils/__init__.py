"""The machinery of ``autograd_core.data`` (``torch.utils.data``): data sets, samplers, the DataLoader and its
worker processes, one module each. Import the names from ``autograd_core.data``."""
