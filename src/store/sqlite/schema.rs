//! The database schema: opening an SQLite file, its pragmas, and the
//! append-only list of migrations keyed on `PRAGMA user_version`.
//!
//! Migrations run inside one `BEGIN EXCLUSIVE` transaction, so a database is
//! either at the old version or the new one, never half-way. WAL mode lets
//! other programs read while an import writes; `synchronous = FULL` makes a
//! commit reach the disk before the writer goes on, so a committed chunk
//! survives a power loss, not only a killed process. A migration, once
//! released, is never edited: new ones are appended.

use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a write waits for a reader or checkpoint holding the database.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const MIGRATIONS: &[&str] = &[
    // 1: the data tables and the import bookkeeping.
    "
    CREATE TABLE import_runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        state TEXT NOT NULL,          -- running | ok | partial | failed | interrupted
        pid INTEGER NOT NULL,
        version TEXT NOT NULL,
        options TEXT NOT NULL,        -- the settings, as JSON
        files_total INTEGER NOT NULL DEFAULT 0,
        files_imported INTEGER NOT NULL DEFAULT 0,
        files_skipped INTEGER NOT NULL DEFAULT 0,
        files_failed INTEGER NOT NULL DEFAULT 0,
        rows_read INTEGER NOT NULL DEFAULT 0,
        rows_imported INTEGER NOT NULL DEFAULT 0,
        rows_rejected INTEGER NOT NULL DEFAULT 0,
        rows_duplicate INTEGER NOT NULL DEFAULT 0,
        rows_filtered INTEGER NOT NULL DEFAULT 0,
        rows_failed INTEGER NOT NULL DEFAULT 0,
        orders_created INTEGER NOT NULL DEFAULT 0,
        orders_updated INTEGER NOT NULL DEFAULT 0,
        orders_duplicate INTEGER NOT NULL DEFAULT 0,
        elapsed_ms INTEGER,
        peak_rss_bytes INTEGER,
        rows_per_sec INTEGER,
        bytes_per_sec INTEGER,
        user_cpu_ms INTEGER,
        system_cpu_ms INTEGER
    );
    CREATE TABLE import_files (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES import_runs(id),
        path TEXT NOT NULL,
        size_bytes INTEGER,
        content_hash TEXT,
        state TEXT NOT NULL,          -- in_progress | imported | skipped | failed
        rows_read INTEGER NOT NULL DEFAULT 0,
        rows_imported INTEGER NOT NULL DEFAULT 0,
        rows_rejected INTEGER NOT NULL DEFAULT 0,
        rows_duplicate INTEGER NOT NULL DEFAULT 0,
        rows_filtered INTEGER NOT NULL DEFAULT 0,
        rows_failed INTEGER NOT NULL DEFAULT 0,
        bytes_committed INTEGER NOT NULL DEFAULT 0,
        rows_committed INTEGER NOT NULL DEFAULT 0,
        line_committed INTEGER NOT NULL DEFAULT 1,
        error TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX import_files_by_hash ON import_files(content_hash, state);
    CREATE INDEX import_files_by_run ON import_files(run_id);
    CREATE TABLE dropship_purchases (
        kode_pesanan TEXT PRIMARY KEY NOT NULL,
        waktu_pesanan_terbuat TEXT NOT NULL,
        status_pesanan_terakhir TEXT,
        kode_transaksi TEXT,
        biaya_lainnya_sen INTEGER,
        biaya_mitra_jakmall_sen INTEGER,
        total_transaksi_sen INTEGER NOT NULL,
        dibuat_oleh TEXT,
        jenis_channel TEXT,
        nama_toko TEXT,
        kode_invoice_channel TEXT,
        gudang_pengiriman TEXT,
        jenis_ekspedisi TEXT,
        cashless TEXT,
        nomor_resi TEXT,
        waktu_pengiriman TEXT,
        provinsi TEXT,
        kota TEXT,
        import_file_id INTEGER NOT NULL REFERENCES import_files(id),
        source_line INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE dropship_purchase_details (
        id INTEGER PRIMARY KEY,
        kode_pesanan TEXT NOT NULL REFERENCES dropship_purchases(kode_pesanan),
        sku TEXT NOT NULL,
        nama_produk TEXT,
        harga_produk_sen INTEGER NOT NULL,
        qty INTEGER NOT NULL,
        total_harga_produk_sen INTEGER NOT NULL,
        harga_produk_channel_sen INTEGER,
        total_harga_produk_channel_sen INTEGER,
        potensi_keuntungan_sen INTEGER,
        import_file_id INTEGER NOT NULL REFERENCES import_files(id),
        source_line INTEGER NOT NULL
    );
    CREATE INDEX dropship_purchase_details_by_order ON dropship_purchase_details(kode_pesanan);
    CREATE TABLE import_rejects (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES import_runs(id),
        file_id INTEGER NOT NULL REFERENCES import_files(id),
        line INTEGER NOT NULL,
        column_name TEXT,
        value TEXT,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        raw TEXT
    );
    CREATE INDEX import_rejects_by_file ON import_rejects(file_id);
    -- What `on_duplicate = update` replaced, kept until the replacing file
    -- is imported, so that a failed file can put it back.
    CREATE TABLE import_replaced_orders AS
        SELECT 0 AS by_file_id, * FROM dropship_purchases WHERE 0;
    CREATE INDEX import_replaced_orders_by_file ON import_replaced_orders(by_file_id);
    CREATE TABLE import_replaced_lines AS
        SELECT 0 AS by_file_id, * FROM dropship_purchase_details WHERE 0;
    CREATE INDEX import_replaced_lines_by_file ON import_replaced_lines(by_file_id);
    ",
    // 2: rows of orders that belong to a file still being read, kept for the
    // files that met them as duplicates, so that one of them can take the
    // order over if its owner fails (see `write::Writer::hand_over`).
    "
    CREATE TABLE import_waiting_rows (
        id INTEGER PRIMARY KEY,
        owner_file_id INTEGER NOT NULL,  -- the file that owns the order now
        file_id INTEGER NOT NULL,        -- the file these rows come from
        waktu_pesanan_terbuat TEXT,
        status_pesanan_terakhir TEXT,
        kode_pesanan TEXT NOT NULL,
        kode_transaksi TEXT,
        sku TEXT,
        nama_produk TEXT,
        harga_produk_sen INTEGER,
        qty INTEGER,
        total_harga_produk_sen INTEGER,
        biaya_lainnya_sen INTEGER,
        biaya_mitra_jakmall_sen INTEGER,
        total_transaksi_sen INTEGER,
        harga_produk_channel_sen INTEGER,
        total_harga_produk_channel_sen INTEGER,
        potensi_keuntungan_sen INTEGER,
        dibuat_oleh TEXT,
        jenis_channel TEXT,
        nama_toko TEXT,
        kode_invoice_channel TEXT,
        gudang_pengiriman TEXT,
        jenis_ekspedisi TEXT,
        cashless TEXT,
        nomor_resi TEXT,
        waktu_pengiriman TEXT,
        provinsi TEXT,
        kota TEXT,
        source_line INTEGER NOT NULL,
        run_id INTEGER NOT NULL          -- the run that read them (and counted them)
    );
    CREATE INDEX import_waiting_rows_by_owner ON import_waiting_rows(owner_file_id, kode_pesanan);
    CREATE INDEX import_waiting_rows_by_file ON import_waiting_rows(file_id);
    ",
    // 3: what a file was read as. `channel` is the `--channel` it was read
    // with (NULL: every row), so an import covers only the rows it kept;
    // `real_path` is its canonical absolute path, so a partial file is
    // known when its path comes back with other bytes.
    "
    ALTER TABLE import_files ADD COLUMN channel TEXT;
    ALTER TABLE import_files ADD COLUMN real_path TEXT;
    -- What each run counted of a file that more than one run read part of
    -- (a run killed, the next resuming it): if the file is rolled back
    -- later, each of those runs' totals moves its rows to failed.
    CREATE TABLE import_file_runs (
        file_id INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        rows_imported INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        rows_duplicate INTEGER NOT NULL,
        rows_filtered INTEGER NOT NULL,
        PRIMARY KEY (file_id, run_id)
    ) WITHOUT ROWID;
    ",
    // 4: the orders each run counted of such a file, so that they leave
    // that run's totals too when the file is rolled back.
    "
    ALTER TABLE import_file_runs ADD COLUMN orders_created INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE import_file_runs ADD COLUMN orders_updated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE import_file_runs ADD COLUMN orders_duplicate INTEGER NOT NULL DEFAULT 0;
    ",
    // 5: each row is counted in the run that committed it, and `status`
    // shows it there: what each run committed of each file is kept after
    // the file ends, with the rows it read and failed, where it began
    // (`line_from` NULL: at the start) and its last checkpoint. And the
    // work a run was given when it started, so that its progress is told
    // exactly: `skipped_bytes` are those of the files it skipped so far
    // (recorded in `import_files` only when it ends).
    "
    ALTER TABLE import_file_runs ADD COLUMN rows_read INTEGER;
    ALTER TABLE import_file_runs ADD COLUMN rows_failed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE import_file_runs ADD COLUMN bytes_from INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE import_file_runs ADD COLUMN line_from INTEGER;
    ALTER TABLE import_file_runs ADD COLUMN bytes_committed INTEGER;
    ALTER TABLE import_file_runs ADD COLUMN rows_committed INTEGER;
    ALTER TABLE import_file_runs ADD COLUMN line_committed INTEGER;
    CREATE INDEX import_file_runs_by_run ON import_file_runs(run_id);
    ALTER TABLE import_runs ADD COLUMN planned_files INTEGER;
    ALTER TABLE import_runs ADD COLUMN planned_bytes INTEGER;
    ALTER TABLE import_runs ADD COLUMN skipped_bytes INTEGER;
    ",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Copies the write-ahead log into the database file from a connection of its
/// own, every `every`, until `done` closes: the writer then spends its time
/// on rows, not on checkpoints (it turns its own automatic checkpoints off).
/// PASSIVE checkpoints never wait for the writer or for readers.
pub fn checkpointer(path: &Path, every: Duration, done: &crossbeam_channel::Receiver<()>) {
    let Ok(conn) = Connection::open(path) else {
        return;
    };
    if conn.busy_timeout(BUSY_TIMEOUT).is_err() {
        return;
    }
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = done.recv_timeout(every) {
        checkpoint(&conn);
    }
}

/// Copies what it can of the write-ahead log into the database file without
/// waiting for the writer or for readers; a busy or partial checkpoint is
/// fine, the next one goes on from there.
pub fn checkpoint(conn: &Connection) {
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
}

/// The index that finds an order's lines (created by migration 1). Loading
/// into an empty table, it is cheaper to build once from the finished table
/// (one sort) than to keep up row by row: see `defer_line_index`.
const LINE_INDEX: &str = "dropship_purchase_details_by_order";

/// Drops the line index while `dropship_purchase_details` is empty, for the
/// caller to rebuild it with `build_line_index` when the load is done or an
/// order's lines must be found. True when the index is absent on return:
/// just dropped, or left absent by a load that died.
pub fn defer_line_index(conn: &Connection) -> rusqlite::Result<bool> {
    let present: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
        [LINE_INDEX],
        |r| r.get(0),
    )?;
    if !present {
        return Ok(true);
    }
    let empty: bool = conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM dropship_purchase_details)",
        [],
        |r| r.get(0),
    )?;
    if empty {
        conn.execute_batch(&format!("DROP INDEX {LINE_INDEX}"))?;
    }
    Ok(empty)
}

/// Creates the line index if it is absent.
pub fn build_line_index(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE INDEX IF NOT EXISTS {LINE_INDEX} ON dropship_purchase_details(kode_pesanan)"
    ))
}

/// Where a database can be: in a folder that exists, and, if something is
/// there already, a file. A dry run asks too, to refuse what a real run
/// would.
pub fn check_place(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!(
            "cannot open {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    if path.exists() && !path.is_file() {
        bail!("cannot open {}: it is not a file", path.display());
    }
    Ok(())
}

/// Opens (creating if needed) the database at `path` for writing, sets its
/// pragmas and brings its schema up to date. A database this tool cannot
/// take (a newer schema, or tables of its own names that it did not make)
/// is refused before anything in it is changed.
pub fn open(path: &Path) -> Result<Connection> {
    check_place(path)?;
    // The caller holds the claim: with no log beside it, the file alone is
    // the whole database, and reading it so leaves nothing behind.
    inspect(path, !beside(path, "-wal").exists())?;
    let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    configure(&conn)
        .with_context(|| format!("{} is not a usable SQLite database", path.display()))?;
    migrate(&conn).with_context(|| format!("cannot prepare the tables in {}", path.display()))?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Takes effect when the database is created (before WAL mode is set).
    conn.execute_batch("PRAGMA page_size = 16384")?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // A file system without shared memory keeps the rollback journal;
        // imports still work, readers just wait more.
        conn.execute_batch("PRAGMA journal_mode = DELETE")?;
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = OFF;
         PRAGMA cache_size = -4000;",
    )
}

fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN EXCLUSIVE")?;
    let result = (|| -> Result<()> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > VERSION {
            bail!(
                "its schema version {version} is newer than this dropship-import knows ({VERSION}); \
                 use a newer dropship-import"
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            // The error's own message, without the migration's SQL.
            conn.execute_batch(sql).map_err(|e| match e {
                rusqlite::Error::SqlInputError { msg, .. } => {
                    anyhow::anyhow!("migration {}: {msg}", i + 1)
                }
                e => anyhow::Error::new(e).context(format!("migration {}", i + 1)),
            })?;
            conn.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}

/// Looks at an existing database read-only: its schema version must not be
/// newer than this build's, and none of the tables or indexes the pending
/// migrations create may exist already (another program's database). A dry
/// run asks too, to refuse what a real run would. `immutable`: read the file
/// alone (see [`read_only_uri`]), for a caller that knows nobody writes it.
pub fn inspect(path: &Path, immutable: bool) -> Result<()> {
    // A new or empty file becomes a new database.
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    let unusable = || format!("{} is not a usable SQLite database", path.display());
    let conn = match immutable {
        true => open_read_only_as(path, true),
        false => open_read_only(path),
    }
    .with_context(unusable)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .with_context(unusable)?;
    if version > VERSION {
        bail!(
            "{} has schema version {version}, newer than this dropship-import knows \
             ({VERSION}); it was left unchanged: use a newer dropship-import",
            path.display()
        );
    }
    let applied = version.max(0) as usize;
    if let Some(problem) = missing_from(&conn, &MIGRATIONS[..applied]).with_context(unusable)? {
        bail!(
            "{} is not a dropship-import database (schema version {version}): {problem}; \
             it was left unchanged: choose another --db",
            path.display()
        );
    }
    let pending = created_names(&MIGRATIONS[applied..]);
    let mut stmt = conn
        .prepare("SELECT type, name FROM sqlite_schema ORDER BY rowid")
        .with_context(unusable)?;
    let existing = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .with_context(unusable)?;
    if let Some((kind, name)) = existing
        .iter()
        .find(|(_, name)| pending.iter().any(|p| p.eq_ignore_ascii_case(name)))
    {
        bail!(
            "{} is not a dropship-import database (schema version {version}): it already \
             has a {kind} {name} of its own; it was left unchanged: choose another --db",
            path.display()
        );
    }
    Ok(())
}

/// What a database that claims to have run `applied` lacks of the tables
/// they make: a table, or a column of one (a schema version alone proves
/// nothing, another program may have set it). `None` when all is there.
fn missing_from(conn: &Connection, applied: &[&str]) -> rusqlite::Result<Option<String>> {
    let reference = Connection::open_in_memory()?;
    for sql in applied {
        reference.execute_batch(sql)?;
    }
    let columns = |conn: &Connection, table: &str| -> rusqlite::Result<Vec<String>> {
        conn.prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([table], |r| r.get(0))?
            .collect()
    };
    let tables: Vec<String> = reference
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for table in tables {
        let found = columns(conn, &table)?;
        if found.is_empty() {
            return Ok(Some(format!("it has no table {table}")));
        }
        if let Some(column) = columns(&reference, &table)?
            .into_iter()
            .find(|c| !found.iter().any(|f| f.eq_ignore_ascii_case(c)))
        {
            return Ok(Some(format!("its table {table} has no column {column}")));
        }
    }
    Ok(None)
}

/// The tables, indexes, views and triggers that `migrations` create
/// (`IF NOT EXISTS` ones excepted: they cannot conflict).
fn created_names(migrations: &[&str]) -> Vec<String> {
    let mut names = Vec::new();
    for sql in migrations {
        let words: Vec<&str> = sql
            .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
            .filter(|w| !w.is_empty())
            .collect();
        for (i, w) in words.iter().enumerate() {
            if !w.eq_ignore_ascii_case("CREATE") {
                continue;
            }
            let mut rest = words[i + 1..].iter().copied().skip_while(|w| {
                ["UNIQUE", "TEMP", "TEMPORARY"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
            });
            let kind = rest.next().unwrap_or("");
            if !["TABLE", "INDEX", "VIEW", "TRIGGER"]
                .iter()
                .any(|k| kind.eq_ignore_ascii_case(k))
            {
                continue;
            }
            let name = rest.next().unwrap_or("");
            if name.eq_ignore_ascii_case("IF") {
                continue;
            }
            names.push(name.trim_matches(['"', '`', '[', ']']).to_string());
        }
    }
    names
}

/// Opens `path` only to read it, never creating or changing anything: see
/// [`read_only_uri`].
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    open_read_only_as(path, needs_immutable(path))
}

/// Opens `path` for one look, as `status` and `recommend` do: a database
/// with no log beside it has no writer (one would have made the log), so
/// it is read as the file alone, which works on read-only media and leaves
/// no `-wal`/`-shm` behind; otherwise as [`open_read_only`].
pub fn open_to_look(path: &Path) -> rusqlite::Result<Connection> {
    let idle = !beside(path, "-wal").exists() && !beside(path, "-shm").exists();
    match idle {
        true => open_read_only_as(path, true),
        false => open_read_only(path),
    }
}

/// Opens `path` only to read it, with or without `immutable` (see
/// [`read_only_uri`]): for a caller that knows nobody writes it.
pub fn open_read_only_as(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        read_only_uri(path, immutable),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// The URI that opens `path` read-only: `mode=ro`, or with `immutable`
/// `immutable=1`, which reads the file alone and creates nothing beside it.
pub fn read_only_uri(path: &Path, immutable: bool) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'?' | b'#' | b'%' | 0x80.. => uri.push_str(&format!("%{b:02X}")),
            _ => uri.push(b as char),
        }
    }
    uri.push_str(match immutable {
        true => "?immutable=1",
        false => "?mode=ro",
    });
    uri
}

/// `path` with `suffix` added to its name, after following symlinks as
/// SQLite does (`t.db` → `t.db-wal`).
pub fn beside(path: &Path, suffix: &str) -> std::path::PathBuf {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut name = real.into_os_string();
    name.push(suffix);
    name.into()
}

/// True on read-only media: a WAL database there cannot be read with
/// `mode=ro` when its shared-memory file is missing and its folder cannot
/// take one, and nobody can be writing it (a writer would need that file).
pub fn needs_immutable(path: &Path) -> bool {
    if beside(path, "-shm").exists() {
        return false;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // An unnamed temporary file: nothing appears in the folder.
    tempfile::tempfile_in(dir).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        drop(conn);
        open(&path).unwrap();
    }

    #[test]
    fn the_line_index_is_dropped_only_while_there_are_no_lines() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.db")).unwrap();
        let present = |conn: &Connection| -> bool {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = ?1)",
                [LINE_INDEX],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert!(present(&conn), "migration 1 creates it");
        assert!(defer_line_index(&conn).unwrap());
        assert!(!present(&conn));
        assert!(defer_line_index(&conn).unwrap(), "absent stays deferred");
        build_line_index(&conn).unwrap();
        build_line_index(&conn).unwrap();
        assert!(present(&conn));
        conn.execute_batch(
            "INSERT INTO dropship_purchase_details (kode_pesanan, sku, harga_produk_sen, qty,
             total_harga_produk_sen, import_file_id, source_line) VALUES ('DS-1', 'S', 1, 1, 1, 1, 2)",
        )
        .unwrap();
        assert!(!defer_line_index(&conn).unwrap());
        assert!(present(&conn), "a table with lines keeps its index");
    }

    #[test]
    fn knows_the_names_its_migrations_create() {
        let names = created_names(MIGRATIONS);
        for name in [
            "import_runs",
            "dropship_purchases",
            LINE_INDEX,
            "import_replaced_lines",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
        }
        let names =
            created_names(&["CREATE UNIQUE INDEX \"a\" ON t(x); CREATE TABLE IF NOT EXISTS b (y)"]);
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn refuses_what_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        std::fs::write(
            &path,
            "this is not sqlite, just some text that is long enough",
        )
        .unwrap();
        let err = format!("{:#}", open(&path).unwrap_err());
        assert!(err.contains("not a usable SQLite database"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "this is not sqlite, just some text that is long enough"
        );
        assert!(open(&dir.path().join("missing/t.db")).is_err());
    }
}
