"""A throwaway PostgreSQL cluster for one test session (``--postgres`` or ``VIDEOSEARCH_TEST_POSTGRES=1``).

Production runs on PostgreSQL, and SQLite hides what differs there: enforced lengths, a transaction
that is unusable after an error, row locks, sequences that do not restart. So scripts/test.sh runs the
integration tests a second time against a real server: ``initdb`` in a temporary folder, a server that
listens only on a unix socket in that folder (no port to collide with other test runs on the machine),
no fsync (nothing here must survive a crash), removed at the end of the session.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ENV_FLAG = "VIDEOSEARCH_TEST_POSTGRES"
#: Server settings for a test cluster: fast and unsafe, and enough connections for several workers.
SERVER_OPTIONS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=100",
                  "listen_addresses=''"]
PORT = 5432  # only names the socket file: the server listens on no TCP port


def wanted(option: bool) -> bool:
    """Whether this session's database is PostgreSQL."""
    return option or os.environ.get(ENV_FLAG, "").strip().lower() in {"1", "true", "yes", "on"}


def bindir() -> Path:
    """The folder of initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<newest>/bin
    (Debian puts only the client programs on PATH)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed (no initdb): run scripts/setup.sh (apt-get install postgresql)")
    return found[-1].parent


def server_user() -> pwd.struct_passwd | None:
    """Whom to run the server as: PostgreSQL refuses to run as root, so root hands it to the
    ``postgres`` system user (or ``nobody``); anyone else runs it as themselves (None)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as")


@dataclass
class Cluster:
    root: Path
    bindir: Path
    user: pwd.struct_passwd | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, name: str) -> str:
        """DATABASE_URL of database ``name``: the socket folder percent-encoded as the host."""
        return f"postgres://postgres@{quote(str(self.root), safe='')}:{PORT}/{name}"

    def _run(self, *args: str) -> None:
        as_user = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []} if self.user else {}
        out = subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.root, capture_output=True, text=True,
                             timeout=120, **as_user)
        if out.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-3000:] if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed ({out.returncode}):\n{out.stdout}{out.stderr}\n{log}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = " ".join([f"-k {self.root}", f"-p {PORT}", *(f"-c {o}" for o in SERVER_OPTIONS)])
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb and start a cluster in a new temporary folder (owned by the server's user)."""
    user = server_user()
    # Not pytest's tmp_path (nor $TMPDIR): those may be private to the user running pytest, and the server's
    # user must reach its folder; /tmp is open to all.
    root = Path(tempfile.mkdtemp(prefix="videosearch-pg-", dir="/tmp" if user is not None else None))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    cluster = Cluster(root, bindir(), user)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def subprocess_database_url(settings_dict: dict) -> str:
    """DATABASE_URL that points a worker or server process at the database of ``settings_dict``
    (the test database once the test run has created it)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    host = quote(str(settings_dict["HOST"]), safe="")
    auth = quote(settings_dict["USER"], safe="")
    if settings_dict.get("PASSWORD"):
        auth += ":" + quote(settings_dict["PASSWORD"], safe="")
    return f"postgres://{auth}@{host}:{settings_dict['PORT']}/{settings_dict['NAME']}"


def create_database(url: str) -> None:
    """Create the (empty) database ``url`` names, connecting to the cluster's ``postgres`` database."""
    import psycopg
    from psycopg import sql

    from videosearch.database import database_settings

    db = database_settings(url, sqlite_test_name="")
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))


def worth_a_postgres_run(item) -> bool:
    """Whether a collected test reaches the session's database: a ``django_db`` mark, or a fixture that
    needs the test database (``db``, ``client``, ``celery_worker``, session fixtures that fill it...).
    The rest (file indexes, ffmpeg, models, servers with their own data dir) gain nothing from a second
    run, nor do the long search-quality tests marked ``one_database`` (they store what the API tests store:
    skipping them keeps the PostgreSQL pass short)."""
    if item.get_closest_marker("one_database") is not None:
        return False
    return item.get_closest_marker("django_db") is not None or "django_db_setup" in getattr(item, "fixturenames", ())
