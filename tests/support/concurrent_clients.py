"""Registry clients that run in their own OS processes, for concurrency tests against a real server.

Coroutines of one process share one event loop and one connection pool; these do not: each process
opens its own HTTP connections, so the server's worker processes (and, with two servers, both
nodes) see truly simultaneous requests. Functions run in a child started with the ``spawn`` method
and report through a queue; times are ``time.monotonic_ns()``, one clock for every process of the
machine.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Push:
    """One manifest PUT as its client saw it."""

    process: int
    digest: str
    status: int
    sent_ns: int
    answered_ns: int
    body: str


def push_tag_moves(
    process: int,
    url: str,
    auth: tuple[str, str],
    name: str,
    tag: str,
    pushes: list[tuple[str, bytes]],
    start: Barrier,
    out: multiprocessing.Queue[list[Push]],
) -> None:
    """PUT each ``(digest, manifest)`` to ``name:tag`` in order, after every process reached ``start``."""
    import time

    records: list[Push] = []
    try:
        with httpx.Client(base_url=url, auth=auth, timeout=60.0) as client:
            client.get("/v2/")  # open the connection before the start line
            start.wait(60)
            for digest, raw in pushes:
                sent = time.monotonic_ns()
                r = client.put(
                    f"/v2/{name}/manifests/{tag}", content=raw, headers={"Content-Type": OCI_MANIFEST}
                )
                answered = time.monotonic_ns()
                records.append(Push(process, digest, r.status_code, sent, answered, r.text[:500]))
    finally:
        out.put(records)


def run_processes(count: int, target: object, args_for: list[tuple[object, ...]]) -> list[list[Push]]:
    """Start ``count`` spawned processes running ``target(i, *args_for[i], barrier, queue)``; collect."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(count)
    queue: multiprocessing.Queue[list[Push]] = ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(i, *args_for[i], barrier, queue), daemon=True)  # type: ignore[arg-type]
        for i in range(count)
    ]
    for p in procs:
        p.start()
    try:
        results = [queue.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join(5)
    return results
