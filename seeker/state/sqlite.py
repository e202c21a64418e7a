"""The embedded default: the Seeker's state in one SQLite file, used from one thread."""

import sqlite3
from pathlib import Path

from channel.store.sqlitefile import SqliteFile
from channel.store.whole import SqliteWhole
from channel.wire import canonical
from seeker.errors import StateUnavailable
from seeker.state.base import Doc, Leader, StateStore
from seeker.state.migrations import STATE
from seeker.state.sqlite_jobs import SqliteJobs
from seeker.state.sqlite_schedules import SqliteSchedules

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    doc BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_creation ON jobs (created_at, job_id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs (finished_at);
CREATE TABLE IF NOT EXISTS blocks (
    block_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    ready_at REAL NOT NULL,
    version INTEGER NOT NULL,
    givers TEXT NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_by_job ON blocks (job_id, seq);
CREATE INDEX IF NOT EXISTS blocks_by_status ON blocks (status, job_id, seq);
CREATE TABLE IF NOT EXISTS giver_records (
    giver_id TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seeker_key (
    id TEXT PRIMARY KEY,
    pem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    version INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS operators (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS admissions (
    giver_id TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS scrapers (
    name TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS job_keys (
    job_id TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (job_id, key)
);
CREATE INDEX IF NOT EXISTS job_keys_by_seq ON job_keys (job_id, seq);
CREATE TABLE IF NOT EXISTS leader (
    id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    url TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS schedules (
    schedule_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    version INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS schedule_runs (
    run_id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL,
    tick REAL NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS schedule_runs_by_tick ON schedule_runs (schedule_id, tick);
"""
_BLOCK_COLUMNS = "block_id, job_id, seq, status, ready_at, version, givers, doc"


def _row(doc: Doc) -> tuple[object, ...]:
    return (
        doc["block_id"],
        doc["job_id"],
        doc["seq"],
        doc["status"],
        doc["ready_at"],
        doc["version"],
        canonical.dumps(doc["givers"]).decode(),
        canonical.dumps(doc),
    )


class SqliteState(SqliteWhole, SqliteJobs, SqliteSchedules, StateStore):
    """State in a SQLite file (WAL): a write is durable once it returns, and a
    process killed at any point leaves the last committed state."""

    _not_content = ("leader",)

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self._file = SqliteFile(
            path,
            _SCHEMA,
            STATE,
            lambda message: StateUnavailable(message, url=self.url),
            thread="seeker-state",
        )
        self._run = self._file.run

    async def _open(self) -> None:
        await self._file.open()

    async def close(self) -> None:
        await self._file.close()

    async def ping(self) -> None:
        await self._file.ping()

    async def insert_blocks(self, docs: list[Doc]) -> int:
        rows = [_row(doc) for doc in docs]

        def insert(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(
                f"INSERT INTO blocks ({_BLOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (block_id) DO NOTHING",
                rows,
            )
            return db.total_changes - before

        return await self._run(insert)

    async def block(self, block_id: str) -> Doc | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT doc FROM blocks WHERE block_id = ?", (block_id,)
            ).fetchone()
        )
        return canonical.loads(row[0]) if row else None

    async def replace_block(self, doc: Doc) -> bool:
        (stored,) = await self.replace_blocks([doc])
        return stored

    async def replace_blocks(self, docs: list[Doc]) -> list[bool]:
        """Every block in one transaction."""
        rows = []
        for doc in docs:
            block_id, _, _, status, ready_at, version, givers, body = _row(doc)
            rows.append((status, ready_at, version, givers, body, block_id, doc["version"] - 1))

        def replace(db: sqlite3.Connection) -> list[bool]:
            return [
                db.execute(
                    "UPDATE blocks SET status = ?, ready_at = ?, version = ?, givers = ?, "
                    "doc = ? WHERE block_id = ? AND version = ?",
                    row,
                ).rowcount
                == 1
                for row in rows
            ]

        return await self._run(replace)

    async def _docs(self, sql: str, params: tuple[object, ...]) -> list[Doc]:
        rows = await self._run(lambda db: db.execute(sql, params).fetchall())
        return [canonical.loads(row[0]) for row in rows]

    async def ready_blocks(self, job_id: str, now: float, limit: int) -> list[Doc]:
        return await self._docs(
            "SELECT doc FROM blocks WHERE status = 'pending' AND job_id = ? AND ready_at <= ? "
            "ORDER BY seq LIMIT ?",
            (job_id, now, limit),
        )

    async def job_blocks(self, job_id: str, after_seq: int, limit: int) -> list[Doc]:
        return await self._docs(
            "SELECT doc FROM blocks WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after_seq, limit),
        )

    async def disputed_blocks(self, job_id: str, after_seq: int, limit: int) -> list[Doc]:
        # The flag is read from the document itself, so no column (and no migration
        # of existing files) is needed; the scan stays within the job's blocks.
        return await self._docs(
            "SELECT doc FROM blocks WHERE job_id = ? AND seq > ? "
            "AND json_extract(CAST(doc AS TEXT), '$.disputed') = 1 ORDER BY seq LIMIT ?",
            (job_id, after_seq, limit),
        )

    async def giver_blocks(self, giver_id: str) -> list[Doc]:
        return await self._docs(
            "SELECT doc FROM blocks WHERE EXISTS "
            "(SELECT 1 FROM json_each(blocks.givers) WHERE json_each.value = ?) ORDER BY block_id",
            (giver_id,),
        )

    async def last_seq(self, job_id: str) -> int:
        row = await self._run(
            lambda db: db.execute(
                "SELECT max(seq) FROM blocks WHERE job_id = ?", (job_id,)
            ).fetchone()
        )
        return -1 if row[0] is None else row[0]

    async def put_givers(self, docs: list[Doc]) -> None:
        rows = [(doc["giver_id"], canonical.dumps(doc)) for doc in docs]
        await self._run(
            lambda db: db.executemany(
                "INSERT INTO giver_records (giver_id, doc) VALUES (?, ?) "
                "ON CONFLICT (giver_id) DO UPDATE SET doc = excluded.doc",
                rows,
            )
        )

    async def givers(self) -> list[Doc]:
        return await self._docs("SELECT doc FROM giver_records ORDER BY giver_id", ())

    async def take_leader(self, holder: str, url: str, now: float, period_s: float) -> Leader:
        def take(db: sqlite3.Connection) -> Leader:
            db.execute(
                "INSERT INTO leader (id, holder, url, expires_at) VALUES ('leader', ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, url = excluded.url, "
                "expires_at = excluded.expires_at "
                "WHERE leader.holder = excluded.holder OR leader.expires_at <= ?",
                (holder, url, now + period_s, now),
            )
            row = db.execute("SELECT holder, url, expires_at FROM leader").fetchone()
            return Leader(*row)

        return await self._run(take)

    async def seeker_key(self, pem: str) -> str:
        def take(db: sqlite3.Connection) -> str:
            db.execute(
                "INSERT INTO seeker_key (id, pem) VALUES ('seeker', ?) ON CONFLICT (id) DO NOTHING",
                (pem,),
            )
            return db.execute("SELECT pem FROM seeker_key WHERE id = 'seeker'").fetchone()[0]

        return await self._run(take)

    async def stored_key(self) -> str | None:
        row = await self._run(lambda db: db.execute("SELECT pem FROM seeker_key").fetchone())
        return str(row[0]) if row else None

    async def insert_token(self, doc: Doc) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO tokens (token_id, created_at, version, doc) VALUES (?, ?, ?, ?)",
                (doc["token_id"], doc["created_at"], doc["version"], canonical.dumps(doc)),
            )
        )

    async def token(self, token_id: str) -> Doc | None:
        docs = await self._docs("SELECT doc FROM tokens WHERE token_id = ?", (token_id,))
        return docs[0] if docs else None

    async def tokens(self) -> list[Doc]:
        return await self._docs("SELECT doc FROM tokens ORDER BY created_at, token_id", ())

    async def replace_token(self, doc: Doc) -> bool:
        cursor = await self._run(
            lambda db: db.execute(
                "UPDATE tokens SET version = ?, doc = ? WHERE token_id = ? AND version = ?",
                (doc["version"], canonical.dumps(doc), doc["token_id"], doc["version"] - 1),
            )
        )
        return cursor.rowcount == 1

    async def operators(self) -> Doc | None:
        docs = await self._docs("SELECT doc FROM operators WHERE id = 'operators'", ())
        return docs[0] if docs else None

    async def replace_operators(self, doc: Doc) -> bool:
        version, data = doc["version"], canonical.dumps(doc)
        if version == 1:
            sql = (
                "INSERT INTO operators (id, version, doc) VALUES ('operators', ?, ?) "
                "ON CONFLICT (id) DO NOTHING"
            )
            cursor = await self._run(lambda db: db.execute(sql, (version, data)))
        else:
            sql = "UPDATE operators SET version = ?, doc = ? WHERE id = 'operators' AND version = ?"
            cursor = await self._run(lambda db: db.execute(sql, (version, data, version - 1)))
        return cursor.rowcount == 1

    async def admit(self, doc: Doc) -> Doc:
        def admit(db: sqlite3.Connection) -> Doc:
            db.execute(
                "INSERT INTO admissions (giver_id, doc) VALUES (?, ?) "
                "ON CONFLICT (giver_id) DO NOTHING",
                (doc["giver_id"], canonical.dumps(doc)),
            )
            row = db.execute(
                "SELECT doc FROM admissions WHERE giver_id = ?", (doc["giver_id"],)
            ).fetchone()
            return canonical.loads(row[0])

        return await self._run(admit)

    async def admission(self, giver_id: str) -> Doc | None:
        docs = await self._docs("SELECT doc FROM admissions WHERE giver_id = ?", (giver_id,))
        return docs[0] if docs else None

    async def admissions(self) -> list[Doc]:
        return await self._docs("SELECT doc FROM admissions ORDER BY giver_id", ())

    async def forget_admission(self, giver_id: str) -> bool:
        cursor = await self._run(
            lambda db: db.execute("DELETE FROM admissions WHERE giver_id = ?", (giver_id,))
        )
        return cursor.rowcount == 1

    async def put_scraper(self, doc: Doc) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO scrapers (name, doc) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                (doc["name"], canonical.dumps(doc)),
            )
        )

    async def scraper(self, name: str) -> Doc | None:
        docs = await self._docs("SELECT doc FROM scrapers WHERE name = ?", (name,))
        return docs[0] if docs else None

    async def scrapers(self) -> list[Doc]:
        return await self._docs("SELECT doc FROM scrapers ORDER BY name", ())

    async def delete_scraper(self, name: str) -> bool:
        cursor = await self._run(
            lambda db: db.execute("DELETE FROM scrapers WHERE name = ?", (name,))
        )
        return bool(cursor.rowcount)

    async def claim_keys(
        self, job_id: str, keys: list[str], first_seq: int, block_size: int, limit: int
    ) -> list[tuple[str, int]]:
        def claim(db: sqlite3.Connection) -> list[tuple[str, int]]:
            claimed: list[tuple[str, int]] = []
            for key in keys:
                if len(claimed) == limit:
                    break
                seq = first_seq + len(claimed) // block_size
                cursor = db.execute(
                    "INSERT OR IGNORE INTO job_keys (job_id, key, seq) VALUES (?, ?, ?)",
                    (job_id, key, seq),
                )
                if cursor.rowcount:
                    claimed.append((key, seq))
            return claimed

        return await self._run(claim)

    async def claimed_keys(self, job_id: str, min_seq: int) -> list[tuple[str, int]]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT key, seq FROM job_keys WHERE job_id = ? AND seq >= ? ORDER BY seq, rowid",
                (job_id, min_seq),
            ).fetchall()
        )
        return [(key, seq) for key, seq in rows]

    async def count_claimed(self, job_id: str, min_seq: int) -> int:
        row = await self._run(
            lambda db: db.execute(
                "SELECT count(*) FROM job_keys WHERE job_id = ? AND seq >= ?", (job_id, min_seq)
            ).fetchone()
        )
        return int(row[0])
