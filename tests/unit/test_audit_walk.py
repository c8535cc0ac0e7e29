"""How the chain's walk is split: into ranges, over processes only where forking is safe.

Pure rules of `referral_hub.audit.operations`; the walk itself is tested against a
database in tests/functional/test_audit_chain.py.
"""

from __future__ import annotations

import os

from referral_hub.audit import operations as audit


def test_only_a_long_chain_in_a_single_threaded_process_is_split(monkeypatch):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = min(cpus, audit._MAX_PROCESSES)
    monkeypatch.setattr(audit.threading, "active_count", lambda: 1)
    assert audit._processes_for(audit._ENTRIES_PER_PROCESS - 1) == 1
    assert audit._processes_for(10**9) == cores
    # A web worker's threads: a forked child could hang on a lock one of them held.
    monkeypatch.setattr(audit.threading, "active_count", lambda: 5)
    assert audit._processes_for(10**9) == 1


def test_ranges_cover_every_seq_once():
    assert audit._ranges(0, 10, 1) == [(0, 10)]
    assert audit._ranges(0, 10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert audit._ranges(-1, 6, 4) == [(-1, 0), (0, 2), (2, 4), (4, 6)]
    assert audit._ranges(4, 6, 4) == [(4, 4), (4, 5), (5, 5), (5, 6)]
