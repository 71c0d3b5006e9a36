"""Timing done right: warm-up, enough samples for a stable median, robust statistics.

``measure(fn, cfg)`` assumes the first call (which may compile) was already made
and timed by the caller. It then

1. warms up for at least ``warmup_calls`` calls and ``warmup_time`` seconds;
2. picks an inner loop count ``number`` so that one sample lasts about
   ``sample_time`` (timer resolution and loop overhead become negligible for
   microsecond-sized calls);
3. takes samples until it has at least ``min_repeats`` of them *and* they took
   ``min_time`` seconds in total, stopping early only at ``max_time`` (with at
   least three samples) or ``max_repeats``.

Each sample is the mean time per call of its inner loop. The summary holds the
median, the quartiles and IQR, the minimum, the mean and ``rel_iqr`` =
IQR / median; ``noisy`` is set when that exceeds ``noise_threshold``.
Only the standard library is used.
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time


@dataclasses.dataclass
class TimingConfig:
    warmup_calls: int = 1
    warmup_time: float = 0.2
    min_repeats: int = 10
    min_time: float = 1.0
    max_time: float = 20.0
    max_repeats: int = 2000
    sample_time: float = 0.005
    noise_threshold: float = 0.10

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


def summarize(samples, noise_threshold=0.10):
    """Median, quartiles, IQR, min, mean of a list of per-call times (seconds)."""
    xs = sorted(samples)
    n = len(xs)
    if n == 0:
        return {"repeats": 0}
    med = statistics.median(xs)
    if n >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    iqr = q3 - q1
    rel = iqr / med if med > 0 else 0.0
    return {"repeats": n, "median": med, "q1": q1, "q3": q3, "iqr": iqr, "rel_iqr": rel, "min": xs[0],
            "max": xs[-1], "mean": statistics.fmean(xs), "noisy": rel > noise_threshold}


def measure(fn, cfg: TimingConfig, clock=time.perf_counter):
    """Time ``fn()`` (already called once) and return the summary with the raw samples."""
    gc.collect()
    start = clock()
    calls = 0
    while calls < cfg.warmup_calls or clock() - start < cfg.warmup_time:
        fn()
        calls += 1
    per_call = (clock() - start) / calls
    number = max(1, int(cfg.sample_time / per_call)) if per_call > 0 else 1000

    samples = []
    t_begin = clock()
    while True:
        t0 = clock()
        for _ in range(number):
            fn()
        samples.append((clock() - t0) / number)
        elapsed = clock() - t_begin
        if len(samples) >= cfg.min_repeats and elapsed >= cfg.min_time:
            break
        if len(samples) >= cfg.max_repeats or (elapsed >= cfg.max_time and len(samples) >= min(3, cfg.min_repeats)):
            break
    out = summarize(samples, cfg.noise_threshold)
    out.update({"number": number, "warmup_calls": calls, "total_time": clock() - t_begin, "samples": samples})
    return out
