"""A local Neo4j Community 5.26 (LTS) server that pmlkg starts and stops: ``pmlkg db start --backend neo4j``.

Why it looks like this:

* **Jars from Maven Central, never committed**: ``graph/neo4j/server/pom.xml`` pins Neo4j and
  Neo4j Browser; ``install_runtime()`` (``make neo4j``) runs ``mvn dependency:copy-dependencies``
  once into the runtime dir (``PMLKG_NEO4J_HOME``, default ``~/.cache/pmlkg/neo4j-<version>``).
* **No bootloader**: the server's own entry point (``org.neo4j.server.CommunityEntryPoint``) runs
  in one JVM that pmlkg launches, so the pid pmlkg records is the server's; Neo4j's bootloader
  would fork a second JVM and needs the distribution's folder layout.
* **Loopback only, free ports**: ``neo4j.conf`` binds Bolt and HTTP (for Browser) to 127.0.0.1 on
  ports chosen free at first start (or given) and kept in ``state.json``, so a restart keeps
  the URI a user saved.
* **Authentication always on**: the password comes from ``NEO4J_AUTH`` (``neo4j/<password>``) or is
  generated and written to ``<data-dir>/neo4j/auth`` (mode 0600, as ``NEO4J_AUTH=...``); it is set
  before the first start with Neo4j's ``dbms set-initial-password``.
* **Ready means Bolt answers**: start returns once a driver session runs ``RETURN 1`` with those
  credentials; a server that exits first raises ``StoreUnavailable`` with the end of its log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from pmlkg.graph.stores.base import free_port, port_free
from pmlkg.graph.stores.errors import StoreAuthFailed, StoreBusy, StoreUnavailable

SUBDIR = "neo4j"
ASSETS = files("pmlkg.graph.neo4j").joinpath("server")
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
JAVA_OPTS = ("-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow",
             "-Dfile.encoding=UTF-8", "-Dlog4j2.disable.jmx=true")
MIN_JAVA = 17
USER = "neo4j"  # Community has the one admin user; NEO4J_AUTH must name it


def _pinned(name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</", ASSETS.joinpath("pom.xml").read_text(encoding="utf-8"))
    if match is None:  # pragma: no cover - the pom ships with the package
        raise RuntimeError(f"graph/neo4j/server/pom.xml pins no {name}")
    return match.group(1)


NEO4J_VERSION = _pinned("neo4j.version")
BROWSER_VERSION = _pinned("neo4j-browser.version")


def runtime_dir() -> Path:
    """Where the jars live: ``PMLKG_NEO4J_HOME``, else a per-user cache dir named by the version."""
    env = os.environ.get("PMLKG_NEO4J_HOME")
    return Path(env) if env else Path.home() / ".cache" / "pmlkg" / f"neo4j-{NEO4J_VERSION}"


def install_runtime(target: Path | None = None, *, mvn: str = "mvn") -> tuple[Path, bool]:
    """Fetch the pinned jars once (``mvn dependency:copy-dependencies``); (lib dir, whether it fetched)."""
    lib = (target or runtime_dir()) / "lib"
    marker = lib / f".complete-{NEO4J_VERSION}-{BROWSER_VERSION}"
    if marker.exists():
        return lib, False
    if shutil.which(mvn) is None:
        raise StoreUnavailable(f"fetching Neo4j {NEO4J_VERSION} needs Maven ({mvn!r} is not on PATH)")
    staging = lib.with_name("lib.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with ASSETS.joinpath("pom.xml").open("rb") as src:
        (staging / "pom.xml").write_bytes(src.read())
    proc = subprocess.run([mvn, "-q", "-B", "-f", str(staging / "pom.xml"), "dependency:copy-dependencies",
                           f"-DoutputDirectory={staging}"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise StoreUnavailable(f"mvn could not fetch Neo4j {NEO4J_VERSION}: {(proc.stdout + proc.stderr)[-800:]}")
    (staging / "pom.xml").unlink()
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    marker.touch()
    return lib, True


def java_version(java: str) -> int | None:
    """The major version ``java -version`` reports, None when there is no such java."""
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


@dataclass(slots=True)
class Neo4jStatus:
    running: bool
    pid: int | None
    uri: str | None
    browser: str | None
    auth_file: str
    version: str
    data_dir: str
    already_running: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class LocalNeo4j:
    """One Neo4j server per data dir, under ``<data_dir>/neo4j`` (conf, data, logs, run, auth)."""

    def __init__(self, data_dir: Path, *, bolt_port: int | None = None, http_port: int | None = None,
                 java: str | None = None, runtime: Path | None = None):
        self.home = Path(data_dir).resolve() / SUBDIR
        self.runtime = runtime or runtime_dir()
        self.java = java or _default_java()
        self._ports = {"bolt_port": bolt_port, "http_port": http_port}
        self._log_offset = 0

    @property
    def auth_file(self) -> Path:
        return self.home / "auth"

    # ------------------------------------------------------------------ public

    def start(self, timeout: float = 180.0) -> Neo4jStatus:
        deadline = time.monotonic() + timeout
        with self._locked():
            current = self.status()
            if current.running:
                current.already_running = True
                return current
            self._check_runtime()
            state = self._prepare()
            console = self.home / "logs" / "console.log"
            self._log_offset = console.stat().st_size if console.exists() else 0
            log = open(console, "ab")  # noqa: SIM115 - handed to the child
            with log:
                proc = subprocess.Popen([self.java, *JAVA_OPTS, "-cp", f"{self.home / 'plugins'}/*:{self.runtime}/lib/*",
                                         ENTRY_POINT, f"--home-dir={self.home}", f"--config-dir={self.home / 'conf'}"],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True, env=self._env())
            (self.home / "run" / "pmlkg-neo4j.pid").write_text(str(proc.pid))
            try:
                self._wait_bolt(proc, state, deadline)
            except BaseException:  # a start that did not finish leaves no server behind (Ctrl-C too)
                _end(proc.pid, 60.0)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)  # reap our child
                (self.home / "run" / "pmlkg-neo4j.pid").unlink(missing_ok=True)
                raise
            return self.status()

    def import_csv(self, arguments: Sequence[str], timeout: float = 900.0) -> None:
        """Replace the database with ``neo4j-admin database import full`` of a CSV bundle (``arguments``:
        its --nodes/--relationships/--array-delimiter options). The server must be stopped: the tool
        writes the store files, and the next start serves them."""
        with self._locked():
            if self._pid() is not None:
                raise StoreBusy("the local Neo4j is running: stop it first (`pmlkg db stop --backend neo4j`); "
                                "an import replaces its database")
            self._check_runtime()
            self._prepare()
            proc = self._admin("database", "import", "full", "neo4j", "--overwrite-destination",
                               f"--report-file={self.home / 'logs' / 'import.report'}", *arguments, timeout=timeout)
            if proc.returncode != 0:
                raise StoreUnavailable(f"neo4j-admin database import failed: {(proc.stdout + proc.stderr)[-800:]}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); False when none was running."""
        with self._locked():
            pid = self._pid()
            if pid is None:
                return False
            _end(pid, timeout)
            (self.home / "run" / "pmlkg-neo4j.pid").unlink(missing_ok=True)
            return True

    def status(self) -> Neo4jStatus:
        state = self._state()
        pid = self._pid()
        running = pid is not None
        return Neo4jStatus(
            running=running, pid=pid,
            uri=f"bolt://127.0.0.1:{state['bolt_port']}" if state else None,
            browser=f"http://127.0.0.1:{state['http_port']}/browser/" if state else None,
            auth_file=str(self.auth_file), version=NEO4J_VERSION, data_dir=str(self.home.parent))

    def auth(self) -> tuple[str, str]:
        """(user, password): ``NEO4J_AUTH`` when set, else the data dir's auth file (generated once)."""
        raw = os.environ.get("NEO4J_AUTH") or ""
        if not raw and self.auth_file.exists():
            raw = self.auth_file.read_text(encoding="utf-8").strip().removeprefix("NEO4J_AUTH=")
        if raw:
            user, sep, password = raw.partition("/")
            if not sep or user != USER or not password:
                raise ValueError(f"NEO4J_AUTH must be '{USER}/<password>' for the local Neo4j Community server")
            return user, password
        alphabet = string.ascii_letters + string.digits  # never a leading '-' an option parser would take
        password = "".join(secrets.choice(alphabet) for _ in range(24))
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"NEO4J_AUTH={USER}/{password}\n")
        return USER, password

    # ------------------------------------------------------------------ internals

    def _check_runtime(self) -> None:
        self._check_java()
        if not (self.runtime / "lib" / f"neo4j-{NEO4J_VERSION}.jar").exists():
            raise StoreUnavailable(f"Neo4j {NEO4J_VERSION} is not installed in {self.runtime} "
                                   "(run `make neo4j` or `pmlkg db install --backend neo4j`)")

    def _check_java(self) -> None:
        major = java_version(self.java)
        if major is None:
            raise StoreUnavailable(f"Neo4j {NEO4J_VERSION} needs Java {MIN_JAVA} or newer: no java at {self.java!r} "
                                   "(install OpenJDK 17, or set JAVA_HOME)")
        if major < MIN_JAVA:
            raise StoreUnavailable(f"Neo4j {NEO4J_VERSION} needs Java {MIN_JAVA} or newer; {self.java} is Java "
                                   f"{major} (set JAVA_HOME to a newer JDK)")

    def _prepare(self) -> dict[str, int]:
        """Folders, ports, neo4j.conf and, before the very first start, the initial password."""
        for sub in ("conf", "data", "logs", "run", "import", "plugins"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        state = self._state() or {}
        for key, given in self._ports.items():
            if given is not None:
                state[key] = given
            elif key not in state or not port_free("127.0.0.1", state[key]):
                state[key] = free_port()
        if state["bolt_port"] == state["http_port"]:
            state["http_port"] = free_port()
        for key in ("bolt_port", "http_port"):
            if not port_free("127.0.0.1", state[key]):
                raise StoreBusy(f"port {state[key]} on 127.0.0.1 ({key.removesuffix('_port')}) is in use")
        (self.home / "state.json").write_text(json.dumps(state))
        template = string.Template(ASSETS.joinpath("neo4j.conf").read_text(encoding="utf-8"))
        (self.home / "conf" / "neo4j.conf").write_text(
            template.substitute(home=self.home, runtime=self.runtime, **state), encoding="utf-8")
        _, password = self.auth()
        if not (self.home / "data" / "databases" / "system").exists():
            proc = self._admin("dbms", "set-initial-password", "--", password, timeout=300)
            if proc.returncode != 0:
                out = (proc.stdout + proc.stderr).replace(password, "******")[-500:]
                raise StoreUnavailable(f"could not set Neo4j's initial password: {out}")
        return state

    def _admin(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """neo4j-admin (its AdminTool) with this server's configuration."""
        try:
            return subprocess.run([self.java, "-cp", f"{self.runtime}/lib/*", ADMIN_TOOL, *args], capture_output=True,
                                  text=True, env=self._env(), timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise StoreUnavailable(f"neo4j-admin {args[0]} {args[1]} did not finish in {timeout:.0f} s") from exc

    def _env(self) -> dict[str, str]:
        return {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")}

    def _wait_bolt(self, proc: subprocess.Popen[bytes], state: dict[str, int], deadline: float) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, DriverError, Neo4jError

        uri = f"bolt://127.0.0.1:{state['bolt_port']}"
        auth = self.auth()
        while True:
            if proc.poll() is not None:
                raise StoreUnavailable(f"Neo4j exited with code {proc.returncode} while starting:\n{self._log_tail()}")
            try:
                with GraphDatabase.driver(uri, auth=auth, connection_timeout=2) as driver, driver.session() as session:
                    session.run("RETURN 1").consume()  # a plain session: no retries, so no retry warnings
                return
            except AuthError as exc:
                source = "NEO4J_AUTH" if os.environ.get("NEO4J_AUTH") else str(self.auth_file)
                raise StoreAuthFailed(f"Neo4j at {uri} refused the password from {source}: the password is set at "
                                      f"the first start of {self.home}; use that one, or delete {self.home / 'data'} "
                                      "to start over") from exc
            except (DriverError, Neo4jError, OSError):
                if time.monotonic() > deadline:
                    raise StoreBusy(f"Neo4j at {uri} did not answer Bolt in time (still starting?); "
                                    f"log: {self.home / 'logs'}") from None
                time.sleep(0.5)

    def _log_tail(self, lines: int = 12) -> str:
        """What the server printed since this start: an exception's first lines say why it stopped."""
        with open(self.home / "logs" / "console.log", "rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode("utf-8", errors="replace").splitlines()
        errors = [x for x in text if "Exception" in x or "ERROR" in x]
        return "\n".join((errors[:3] + ["..."] if errors else []) + text[-lines:])

    def _state(self) -> dict[str, int] | None:
        path = self.home / "state.json"
        try:
            return json.loads(path.read_text()) if path.exists() else None
        except ValueError:
            return None

    def _pid(self) -> int | None:
        """The server's pid if it runs and is ours (its command line names this home), else None."""
        path = self.home / "run" / "pmlkg-neo4j.pid"
        try:
            pid = int(path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if f"--home-dir={self.home}".encode() in cmdline and _alive(pid) else None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "server.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _end(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; a process already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)


def _default_java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else (shutil.which("java") or "java")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"  # a zombie is gone for our purposes
