"""Benchmarks: the speed and memory figures hlsync promises, printed, not asserted.

Run them all (about four minutes; the default-rate-limit apply alone takes ~200 s)::

    .venv/bin/python -m tests.perf            # every benchmark, one Markdown table
    .venv/bin/python -m tests.perf plan search  # some of them
    .venv/bin/python -m tests.perf.bench_plan   # one, alone

Files are named ``bench_*.py`` so the default ``pytest`` run does not collect them.
Each is bounded in count and time and stops by itself; HTTP ones run the real emulator
on 127.0.0.1 in a child process (``support.emulator_process``).
"""
