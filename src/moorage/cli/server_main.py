"""The process ``moorage serve`` becomes once it has prepared everything: the ASGI server's supervisor.

``serve`` migrates, creates the first admin, binds the listening socket (so that a port in use fails
before anything says "listening") and then replaces itself with ``python -m moorage.cli.server_main``.
Worker processes are started with multiprocessing's *spawn*, which re-imports the parent's main
module in every worker before the worker can answer the supervisor's health check: the ``moorage``
command's main module imports the whole CLI and application (seconds on a loaded host, which got
workers killed in a loop). This module imports only the settings model and the server, so a worker
answers at once; the application itself is imported afterwards, while the worker already answers.

Arguments: ``--fd N`` (the listening socket, inherited), ``--cert PATH --key PATH`` (TLS files).
Settings come from the ``MOORAGE_*`` variables ``serve`` exported.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

from moorage.config import Settings, load_settings

log = logging.getLogger("uvicorn.error")

APP = "moorage.app:app_from_env"


def _args(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    it = iter(argv)
    for flag in it:
        if flag.startswith("--"):
            out[flag[2:]] = next(it, "")
    return out


def run_uvicorn(settings: Settings, sock: socket.socket, cert: Path | None, key: Path | None) -> None:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors.multiprocess import Multiprocess, Process

    from moorage.asgi.slowheaders import HeaderTimeoutProtocol

    timeout = settings.worker_start_timeout_seconds

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, saying why it kills or replaces a worker."""

        def keep_subprocess_alive(self) -> None:
            if self.should_exit.is_set():
                return
            for idx, process in enumerate(self.processes):
                running = process.process.is_alive()
                if running and process.ping(timeout):
                    continue
                if running:
                    log.warning(
                        "Worker [%s] did not answer the supervisor's health check within %s s "
                        "(worker_start_timeout_seconds): killing it and starting another",
                        process.pid,
                        timeout,
                    )
                process.kill()
                process.join()
                if not running:
                    log.warning("Worker [%s] exited with status %s", process.pid, process.exitcode)
                if process.exitcode == STARTUP_FAILURE:
                    log.error("Worker [%s] failed to start the application: stopping the server", process.pid)
                    self.should_exit.set()
                    return
                if self.should_exit.is_set():
                    return
                replacement = Process(self.config, self.sockets)
                replacement.start()
                log.info("Worker [%s] started in place of [%s]", replacement.pid, process.pid)
                self.processes[idx] = replacement

    config = uvicorn.Config(
        APP,
        factory=True,
        workers=settings.workers,
        loop="uvloop",
        http=HeaderTimeoutProtocol,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        access_log=settings.access_log,
        log_level=settings.log_level,
        timeout_keep_alive=75,
        timeout_worker_healthcheck=timeout,
        limit_concurrency=settings.max_connections_per_worker,
        proxy_headers=False,
    )
    if settings.workers > 1:
        Supervisor(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_granian(settings: Settings, cert: Path | None, key: Path | None) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    kwargs: dict[str, object] = {}
    if cert is not None and key is not None:
        kwargs["ssl_cert"] = cert
        kwargs["ssl_key"] = key
    if settings.max_connections_per_worker is not None:
        kwargs["backpressure"] = settings.max_connections_per_worker
    Granian(
        APP,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_access=settings.access_log,
        http1_settings=HTTP1Settings(header_read_timeout=settings.request_header_timeout_seconds * 1000),
        respawn_failed_workers=True,
        **kwargs,  # type: ignore[arg-type]
    ).serve()


def main(argv: list[str] | None = None) -> None:
    args = _args(sys.argv[1:] if argv is None else argv)
    settings = load_settings()
    cert = Path(args["cert"]) if args.get("cert") else None
    key = Path(args["key"]) if args.get("key") else None
    if settings.server == "granian":
        run_granian(settings, cert, key)
        return
    sock = socket.socket(fileno=int(args["fd"]))
    run_uvicorn(settings, sock, cert, key)


if __name__ == "__main__":
    main()
