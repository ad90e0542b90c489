"""Small helpers shared by the benchmarks: medians of repeated timings and the one-line output format."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], *, repeat: int = 15, number: int = 200) -> float:
    """Median over `repeat` rounds of the mean time of `number` calls."""
    fn()  # warm up
    rounds = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - t) / number)
    return statistics.median(rounds)


def interleaved(fns: dict[str, Callable[[], object]], *, repeat: int = 15, number: int = 200) -> dict[str, float]:
    """Time several functions in alternating rounds so machine noise hits them alike; medians per function."""
    for fn in fns.values():
        fn()
    rounds: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(number):
                fn()
            rounds[k].append((time.perf_counter() - t) / number)
    return {k: statistics.median(v) for k, v in rounds.items()}


def line(name: str, value: float, unit: str, floor_value: float, floor: str, n: int) -> str:
    return f"bench: {name} {value:.2f} {unit} ratio={value / floor_value:.2f} floor={floor} n={n}"
