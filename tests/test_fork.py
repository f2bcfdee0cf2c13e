"""Fork safety of the Rust thread pools (docs/fork-safety.md): a forked child whose parent already
used the pools (explicit sizes and the default one) runs every parallel entry point — detect_batch,
linpro_labels_batch, fuse, nms, soft_nms — without hanging, with the parent's results.

Each scenario runs this file as a script in a subprocess with a timeout, so a hang fails the test
instead of hanging the suite (the child of a bare ``os.fork`` also has its own alarm)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from helpers import package_path

# (num_threads of every call) for each round: the default pool and explicit sizes.
THREADS = (None, 1, 2)
TIMEOUT = 60


def _inputs():
    rng = np.random.default_rng(5)
    lengths = rng.integers(120, 400, 10)
    cas = []
    for l in lengths.tolist():  # bumps of activation on a low floor, as the benches' TCAMs
        x = rng.uniform(0.0, 0.004, (l, 4))
        for c in range(4):
            for a in rng.integers(0, l - 20, 3).tolist():
                x[a : a + int(rng.integers(5, 20)), c] += rng.uniform(0.02, 0.1)
        cas.append(x)
    return lengths, cas, [np.ones(4)] * len(cas)


def _results(num_threads):
    """Every parallel entry point once; plain arrays (picklable, comparable)."""
    import tadfuse
    from tadfuse.linpro import linpro_labels_batch

    lengths, cas, scores = _inputs()
    cfg = tadfuse.PostprocessConfig.official(temperature=0.02)
    dets = tadfuse.detect_batch(cas, scores, cfg, num_threads=num_threads)
    labels = linpro_labels_batch(dets, lengths, 4, num_threads=num_threads)
    # The same through HiGHS (no native simplex), which keeps state per thread of its own.
    highs = linpro_labels_batch(dets, lengths, 4, num_threads=num_threads, native=False)
    rows = tadfuse.Proposals.concat([d.with_video(v) for v, d in enumerate(dets)])
    out = [np.concatenate([d.start for d in dets]), np.concatenate([d.score for d in dets]), *labels, *highs]
    for p in (tadfuse.fuse(rows, temperature=0.2, num_threads=num_threads), tadfuse.nms(rows, num_threads=num_threads),
              tadfuse.soft_nms(rows, num_threads=num_threads)):
        out += [p.start, p.end, p.score, p.video]
    return out


def _all_results():
    return [_results(n) for n in THREADS]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(np.array_equal(u, v) for u, v in zip(x, y)) for x, y in zip(a, b)
    )


def _in_forked_child(fn) -> int:
    """Run ``fn() -> bool`` in an ``os.fork`` child; its exit status (0: true, 1: false, 2: error)."""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            signal.alarm(TIMEOUT)  # a hung child dies instead of outliving the test
            code = 0 if fn() else 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


# --------------------------------------------------------------------------------------------
# Scenarios (run as `python tests/test_fork.py NAME`; exit 0 and print "ok" on success)


def scenario_os_fork():
    parent = _all_results()
    assert _in_forked_child(lambda: _same(_all_results(), parent)) == 0
    # The child's own pools survive a further fork (a grandchild of the first parent).
    assert _in_forked_child(lambda: _same(_all_results(), parent) and _in_forked_child(
        lambda: _same(_all_results(), parent)) == 0) == 0
    assert _same(_all_results(), parent)  # the parent's pools still work


def scenario_fork_while_busy():
    """Fork while another thread of the parent is inside the pools: the child does not inherit a
    pool (or a lock) in use."""
    parent = _all_results()
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            _results(2)
            _results(None)

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(5):
            assert _in_forked_child(lambda: _same(_all_results(), parent)) == 0
    finally:
        stop.set()
        t.join()


def _worker(num_threads):
    return os.getpid(), _results(num_threads)


def scenario_multiprocessing():
    import multiprocessing

    parent = _all_results()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(_worker, list(THREADS) * 2, chunksize=1)
    assert os.getpid() not in {pid for pid, _ in got}
    assert _same([r for _, r in got], parent * 2)


def scenario_dataloader():
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Refresh(Dataset):
        """Item i: the results at THREADS[i % 3], computed in the worker."""

        def __len__(self):
            return 2 * len(THREADS)

        def __getitem__(self, i):
            assert torch.utils.data.get_worker_info() is not None  # in a worker process
            return os.getpid(), _results(THREADS[i % len(THREADS)])

    parent = _all_results()
    loader = DataLoader(Refresh(), batch_size=None, num_workers=2, multiprocessing_context="fork",
                        collate_fn=lambda x: x)
    got = list(loader)
    assert len({pid for pid, _ in got} - {os.getpid()}) == 2  # both workers, none of them the parent
    assert _same([r for _, r in got], parent * 2)


SCENARIOS = {
    "os_fork": scenario_os_fork,
    "fork_while_busy": scenario_fork_while_busy,
    "multiprocessing": scenario_multiprocessing,
    "dataloader": scenario_dataloader,
}


# --------------------------------------------------------------------------------------------
# Tests


def _run(name: str) -> tuple[int, str]:
    """Scenario ``name`` in a fresh session; on timeout the whole process group is killed (a
    hung forked worker would otherwise outlive the test). Returns (exit status, output)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_path(), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, __file__, name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"scenario {name} hung (killed after {TIMEOUT} s):\n{out}")
    return proc.returncode, out


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "dataloader"])
def test_forked_children_run_the_pools(name):
    code, out = _run(name)
    assert code == 0 and out.strip().endswith("ok"), out


def test_dataloader_fork_workers_run_the_pools():
    pytest.importorskip("torch")  # the `train` extra; the other scenarios cover fork without it
    code, out = _run("dataloader")
    assert code == 0 and out.strip().endswith("ok"), out


def test_a_failing_child_fails_the_scenario():
    """The harness can fail: a child whose results differ exits 1, one that raises exits 2."""
    assert _in_forked_child(lambda: False) == 1
    assert _in_forked_child(lambda: 1 / 0) == 2


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    print("ok")
