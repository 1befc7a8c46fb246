"""``moorage serve``: migrate, prepare keys and TLS, then run the ASGI server with worker processes."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from moorage.app import build_services
from moorage.cli.common import ConfigOpt, DataDirOpt, DbOpt, migrate, record_base_url, run, settings_from
from moorage.config import Settings
from moorage.identity.tlscerts import ensure_self_signed
from moorage.observability.logging import configure_logging

console = Console(stderr=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _export(settings: Settings) -> None:
    """Pass the resolved settings to worker processes through MOORAGE_* variables."""
    for key, value in settings.model_dump(mode="json").items():
        if value is None:
            os.environ.pop(f"MOORAGE_{key.upper()}", None)
            continue
        os.environ[f"MOORAGE_{key.upper()}"] = (
            json.dumps(value) if isinstance(value, list | dict) else str(value)
        )
    os.environ.pop("MOORAGE_CONFIG", None)


def _first_admin(settings: Settings) -> str | None:
    """On an empty database, create superuser 'admin' and keep its password in a 0600 file."""

    async def go() -> str | None:
        services = build_services(settings)
        try:
            if await services.registry.users.count() > 0:
                return None
            password = secrets.token_urlsafe(18)
            await services.registry.users.create("admin", password, superuser=True)
            return password
        finally:
            await services.db.dispose()

    password = run(go())
    if password is None:
        return None
    path = settings.data_dir / "initial-admin-password"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return str(path.resolve())


def serve(
    host: Annotated[str | None, typer.Option(help="address to bind \\[default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port \\[default: 5000]")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    workers: Annotated[int | None, typer.Option(help="server worker processes \\[default: 2]")] = None,
    server: Annotated[str | None, typer.Option(help="ASGI server: uvicorn or granian")] = None,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate (chain) for HTTPS")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key for HTTPS")] = None,
    self_signed: Annotated[
        bool, typer.Option("--self-signed", help="serve HTTPS with a generated CA and certificate")
    ] = False,
    hostname: Annotated[
        list[str] | None,
        typer.Option("--hostname", help="host name for the self-signed certificate (repeatable)"),
    ] = None,
    public_url: Annotated[str | None, typer.Option(help="external base URL behind a proxy")] = None,
) -> None:
    """Run the registry (migrates the database first)."""
    settings = settings_from(
        config,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        workers=workers,
        server=server,
        tls_cert=tls_cert,
        tls_key=tls_key,
        self_signed=self_signed or None,
        tls_hostnames=hostname or None,
        public_url=public_url,
    )
    configure_logging(settings.log_level, settings.log_format)
    sock = _listen(settings)
    migrate(settings)
    admin_file = _first_admin(settings)
    cert, key = settings.tls_cert, settings.tls_key
    ca_path = None
    if settings.self_signed:
        files = ensure_self_signed(settings.data_dir / "tls", settings.tls_hostnames)
        cert, key, ca_path = files.cert, files.key, files.ca_cert
    if (cert is None) != (key is None):
        console.print("[red]error:[/red] --tls-cert and --tls-key go together")
        raise typer.Exit(2)
    if cert is None and not _is_loopback(settings.host):
        console.print(
            f"[yellow]warning:[/yellow] serving plain HTTP on {settings.host}: credentials cross the network "
            "unencrypted. Use --tls-cert/--tls-key or --self-signed."
        )
    metrics_dir = node_metrics_dir(settings)
    # only this node's own files (its previous run's dead workers); other nodes' stay untouched
    shutil.rmtree(metrics_dir, ignore_errors=True)
    if settings.workers > 1:
        metrics_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    _export(settings)
    record_base_url(settings)  # the address `moorage robot token` & co. print
    hostport = (
        f"{settings.host}:{settings.port}"
        if ":" not in settings.host
        else f"[{settings.host}]:{settings.port}"
    )
    console.print(
        f"Moorage is listening on [bold]{settings.base_url}[/bold] (data in {settings.data_dir.resolve()})"
    )
    if admin_file:
        console.print(f"First start: created superuser [bold]admin[/bold]; its password is in {admin_file}")
    if ca_path:
        console.print(
            f"Self-signed TLS: trust the CA in {ca_path.resolve()}  "
            f"(docker: /etc/docker/certs.d/{hostport}/ca.crt, "
            f"podman/skopeo: /etc/containers/certs.d/{hostport}/ca.crt)"
        )
    console.print(f"Web UI:       {settings.base_url}/  (sign in as admin)")
    console.print(f"Log in with:  docker login {hostport} -u admin")
    _exec_server(settings, sock, cert, key)


def node_id(settings: Settings) -> str:
    """This node's name among the nodes sharing a data directory: configured, or host name and port."""
    return settings.resolved_node_id


def node_metrics_dir(settings: Settings) -> Path:
    return settings.data_dir / "run" / "metrics" / node_id(settings)


def _listen(settings: Settings) -> socket.socket:
    """Bind and listen now, so that a port in use fails before anything says "listening"."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        console.print(
            f"[red]error:[/red] cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
            " (another server on that port? choose one with --port)"
        )
        raise typer.Exit(1) from None
    return sock


def _exec_server(settings: Settings, sock: socket.socket, cert: Path | None, key: Path | None) -> None:
    """Become the server's supervisor (see moorage.cli.server_main for why it is a fresh process)."""
    args = [sys.executable, "-m", "moorage.cli.server_main"]
    if settings.server == "granian":
        sock.close()  # granian binds by itself; the check above has already run
    else:
        sock.set_inheritable(True)
        args += ["--fd", str(sock.fileno())]
    if cert is not None and key is not None:
        args += ["--cert", str(cert), "--key", str(key)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)  # noqa: S606 -- a fixed argv, no shell
