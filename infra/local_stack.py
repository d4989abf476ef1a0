"""The whole S3 path on one machine, no AWS account needed.

Starts moto's S3-compatible server on 127.0.0.1, creates the model bucket from infra/bucket.yaml
through its CloudFormation API, publishes a folder laid out like the store into it (with
`python -m stylize publish`), and runs the page against it:

    python infra/local_stack.py --from ../shared            # then open http://127.0.0.1:8501

`--pages 2` runs two page processes (two "tasks", each with its own model cache) behind HAProxy
configured like the service's load balancer (infra/local_lb.py); the address printed is the load
balancer's. `--smoke` starts everything, checks the page answers its health check, and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_lb import load_balancer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STACK = "background-stylizer-models"


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"error: {url} did not answer within {timeout:.0f} s.") from None
            time.sleep(0.2)


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def deploy_bucket(prefix: str) -> str:
    """Create the bucket stack from the template; returns its ModelStore output (s3://bucket/prefix)."""
    cfn = boto3.client("cloudformation")
    template = (ROOT / "infra" / "bucket.yaml").read_text(encoding="utf-8")
    cfn.create_stack(StackName=STACK, TemplateBody=template, Parameters=[{"ParameterKey": "ModelsPrefix", "ParameterValue": prefix}])
    cfn.get_waiter("stack_create_complete").wait(StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ModelStore")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, default=ROOT.parent / "shared", help="folder to publish (default ../shared)")
    parser.add_argument("--s3-port", type=int, default=5055)
    parser.add_argument("--page-port", type=int, default=8501)
    parser.add_argument("--prefix", default="v1")
    parser.add_argument("--pages", type=int, default=1, help="page processes; more than one are served behind a local load balancer")
    parser.add_argument("--smoke", action="store_true", help="start, check the page's health, stop")
    args = parser.parse_args()
    # Stopped with SIGTERM (as the benchmarks stop it), still stop what it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not args.source.is_dir():
        raise SystemExit(f"error: {args.source} is not a folder; pass --from a folder laid out like the store.")
    for port in (args.s3_port, args.page_port):
        if not port_is_free(port):
            raise SystemExit(f"error: port {port} on 127.0.0.1 is taken; pick another with --s3-port or --page-port.")

    endpoint = f"http://127.0.0.1:{args.s3_port}"
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,  # moto serves S3 and CloudFormation on one port
            "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(args.s3_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pages: list[subprocess.Popen] = []
    try:
        wait_for(endpoint + "/moto-api/", 30)
        store = deploy_bucket(args.prefix)
        print(f"S3 endpoint {endpoint}: bucket stack created, store {store}", flush=True)
        published = subprocess.run([sys.executable, "-m", "stylize", "publish", "--from", str(args.source), "--to", store], cwd=ROOT)
        if published.returncode != 0:
            return published.returncode
        env = {**os.environ, "STYLIZE_MODEL_STORE": store, "STYLIZE_ICE_SERVERS": "", "MALLOC_ARENA_MAX": "2"}  # as the container (Dockerfile)
        ports = [args.page_port] if args.pages == 1 else [free_port() for _ in range(args.pages)]
        for i, port in enumerate(ports, start=1):
            task_env = dict(env)
            if args.pages > 1:  # each "task" has its own model cache, as on Fargate
                task_env["STYLIZE_CACHE_DIR"] = os.path.join(env.get("STYLIZE_CACHE_DIR", os.path.expanduser("~/.cache/stylize")), f"page{i}")
            command = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port), "--server.address", "127.0.0.1"]
            pages.append(subprocess.Popen(command, cwd=ROOT, env=task_env))
        for port in ports:
            wait_for(f"http://127.0.0.1:{port}/_stcore/health", 60)
        with load_balancer(args.page_port, ports) if args.pages > 1 else contextlib.nullcontext():
            who = f"{args.pages} page processes behind a load balancer read their" if args.pages > 1 else "The page reads its"
            print(f"{who} models from {store} at {endpoint}: open http://127.0.0.1:{args.page_port}", flush=True)
            if not args.smoke:
                pages[0].wait()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in (*pages, moto):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)


if __name__ == "__main__":
    raise SystemExit(main())
