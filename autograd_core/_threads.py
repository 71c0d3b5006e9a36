"""One place that decides thread counts (imported first by ``autograd_core``).

Placeholder until the kernels land: it only sets defaults through environment
variables, which work when numpy has not been imported yet.
"""
