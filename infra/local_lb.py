"""A load balancer on this machine that behaves like the service's ALB, for several page processes.

HAProxy from Debian's packages, configured as `service.yaml` configures the ALB's target group:
- stickiness by a cookie the load balancer sets (the ALB's `lb_cookie`; named AWSALB here too),
  so every request of a visitor's session — the WebSocket, uploads, media — reaches one process;
- the WebSocket upgrade passed through, idle for up to an hour (the ALB's idle timeout);
- a health check on `/_stcore/health`; a process that fails it gets no new visitors, and a
  visitor whose sticky process is gone is sent to a healthy one (`option redispatch`), as the ALB
  does when a target is unhealthy or deregistered.

`sticky=False` leaves the cookie out, to show what breaks without it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

COOKIE = "AWSALB"


def haproxy_config(port: int, backends: list[int], sticky: bool = True, check_interval_ms: int = 1000) -> str:
    cookie = f"    cookie {COOKIE} insert indirect nocache httponly\n" if sticky else ""
    servers = "".join(
        f"    server page{i} 127.0.0.1:{backend} check inter {check_interval_ms} fall 2 rise 2" + (f" cookie page{i}" if sticky else "") + "\n"
        for i, backend in enumerate(backends, start=1)
    )
    return (
        "global\n"
        "    maxconn 2000\n"
        "defaults\n"
        "    mode http\n"
        "    option redispatch\n"
        "    retries 2\n"
        "    timeout connect 5s\n"
        "    timeout client 60s\n"
        "    timeout server 60s\n"
        "    timeout tunnel 3600s\n"  # an open WebSocket may idle as long as the ALB allows
        "frontend page\n"
        f"    bind 127.0.0.1:{port}\n"
        "    default_backend pages\n"
        "backend pages\n"
        "    balance roundrobin\n"
        f"{cookie}"
        "    option httpchk GET /_stcore/health\n"
        "    http-check expect status 200\n"
        f"{servers}"
    )


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise RuntimeError("HAProxy is not installed; scripts/setup.sh dev installs Debian's haproxy package.")
    return found


@contextlib.contextmanager
def load_balancer(port: int, backends: list[int], sticky: bool = True, timeout: float = 30.0):
    """HAProxy in front of ``backends`` on 127.0.0.1:``port``; yields its URL once it answers."""
    with tempfile.TemporaryDirectory(prefix="stylize-lb-") as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(haproxy_config(port, backends, sticky), encoding="utf-8")
        checked = subprocess.run([haproxy_binary(), "-c", "-q", "-f", str(config)], capture_output=True, encoding="utf-8")
        if checked.returncode != 0:
            raise RuntimeError(f"HAProxy refused its configuration: {checked.stdout}{checked.stderr}")
        proc = subprocess.Popen([haproxy_binary(), "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the load balancer on {url} did not answer within {timeout:.0f} s") from None
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)
