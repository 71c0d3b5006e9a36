"""Small measuring scripts behind figures in ``benchmarks/RESULTS.md`` that the CLI does not cover.

Run from the repository root, each in its own process (``python -m benchmarks.adhoc.step_time``);
for an A/B between two checkouts, run the same module from each checkout's root, alternating.
"""
