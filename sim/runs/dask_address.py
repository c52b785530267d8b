"""Addresses of running Dask schedulers: their form is checked before anything runs, and the handshake with
whatever answers there has a deadline.

Dask's clients reach a scheduler at ``tcp://HOST:PORT`` (a bare ``HOST:PORT``
means tcp), ``tls://``, ``ws://``, ``wss://`` or ``ucx://`` (with UCX
installed). ``inproc://`` addresses exist only inside the process that made
them, so ``run.py`` cannot reach one. A server that is not a Dask scheduler (an
HTTP server, a socket that accepts and says nothing or sends junk) is refused
within the deadline: :func:`probe_scheduler` connects and asks the server who it
is, the whole exchange bounded by one ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import logging

from sim.runs.outputs import OutputError

SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
CONNECT_SHARE = 0.8    # of the deadline for Dask's connect, so that its own error (e.g. refused) comes first
ALLOWED = ("allowed: tcp://HOST:PORT (also tls://, ws://, wss://, ucx://; HOST:PORT means tcp), "
           "e.g. tcp://127.0.0.1:8786, or no --scheduler to start a local cluster")


def _host_port(rest: str) -> tuple[str, str | None]:
    """``HOST`` and ``PORT`` of ``HOST:PORT`` or ``[IPv6]:PORT`` (``PORT`` None where there is no ``:PORT``)."""
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        return host, tail[1:] if tail.startswith(":") else None
    host, colon, port = rest.rpartition(":")
    return (host, port) if colon else (rest, None)


def check_address(address: str) -> None:
    """Refuse (OutputError) a ``--scheduler`` that is not of the form ``SCHEME://HOST:PORT``."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme == "inproc":
        raise OutputError(f"--scheduler {address}: inproc:// addresses exist only inside the process that made "
                          f"them; {ALLOWED}")
    if scheme not in SCHEMES:
        raise OutputError(f"--scheduler {address}: unknown protocol '{scheme}'; {ALLOWED}")
    host, port = _host_port(rest)
    if port is None:
        raise OutputError(f"--scheduler {address}: no :PORT; {ALLOWED}")
    if not host or any(c in host for c in "/ @?#"):
        raise OutputError(f"--scheduler {address}: '{host}' is not a host name or IP address; {ALLOWED}")
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise OutputError(f"--scheduler {address}: port '{port}' is not a number from 1 to 65535; {ALLOWED}")


async def _identify(address: str, timeout_s: float) -> object:
    """Connect (Dask's own handshake) and ask the server for its identity; returns its reply."""
    from distributed.comm import connect

    comm = await connect(address, timeout=CONNECT_SHARE * timeout_s)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def probe_scheduler(address: str, timeout_s: float) -> None:
    """Refuse (OutputError) an address where no Dask scheduler answers within ``timeout_s`` seconds, for the whole
    exchange: connecting, Dask's handshake and the identity request."""
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)     # the failure is reported in one line below, not as log records
    try:
        reply = asyncio.run(asyncio.wait_for(_identify(address, timeout_s), timeout_s))
    except TimeoutError:
        raise OutputError(f"--scheduler {address}: no Dask scheduler answered within {timeout_s:g} s (a server "
                          f"accepted the connection but did not complete the Dask handshake); {ALLOWED}") from None
    except OSError as err:
        detail = (str(err) or type(err).__name__).splitlines()[0]
        raise OutputError(f"--scheduler {address}: no Dask scheduler answered within {timeout_s:g} s ({detail}); "
                          f"{ALLOWED}") from None
    except Exception as err:  # noqa: BLE001 - whatever junk came back, the one line says so
        raise OutputError(f"--scheduler {address}: the server there is not a Dask scheduler (its answer is not the "
                          f"Dask protocol: {type(err).__name__}); {ALLOWED}") from None
    finally:
        quiet.setLevel(level)
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        raise OutputError(f"--scheduler {address}: the server there is not a Dask scheduler (it is a {kind}); "
                          f"{ALLOWED}")
