//! The PostgreSQL schema: created and migrated under an advisory lock, its
//! version in `import_schema_version`, each migration fixed text run with
//! the schema first on the `search_path` (an append-only list, as for
//! SQLite's `user_version`). Tables of the same names that the tool did not
//! create are never touched.

use super::{MIGRATE_CLASS, Pg, ident};
use anyhow::{Result, bail};
use sqlx::Row;

const MIGRATIONS: &[&str] = &[
    // 1: the data tables and the import bookkeeping, as in SQLite, with
    // native types. (The writer of this version staged each file being
    // read in a table of its own; see 2.)
    "
CREATE TABLE import_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    state text NOT NULL,            -- running | ok | partial | failed | interrupted
    pid integer NOT NULL,
    host text NOT NULL,
    version text NOT NULL,
    options text NOT NULL,          -- the settings, as JSON (no password)
    files_total bigint NOT NULL DEFAULT 0,
    files_imported bigint NOT NULL DEFAULT 0,
    files_skipped bigint NOT NULL DEFAULT 0,
    files_failed bigint NOT NULL DEFAULT 0,
    rows_read bigint NOT NULL DEFAULT 0,
    rows_imported bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    rows_duplicate bigint NOT NULL DEFAULT 0,
    rows_filtered bigint NOT NULL DEFAULT 0,
    rows_failed bigint NOT NULL DEFAULT 0,
    orders_created bigint NOT NULL DEFAULT 0,
    orders_updated bigint NOT NULL DEFAULT 0,
    orders_duplicate bigint NOT NULL DEFAULT 0,
    elapsed_ms bigint,
    peak_rss_bytes bigint,
    rows_per_sec bigint,
    bytes_per_sec bigint,
    user_cpu_ms bigint,
    system_cpu_ms bigint
);
CREATE TABLE import_files (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES import_runs(id),
    path text NOT NULL,
    size_bytes bigint,
    content_hash text,
    state text NOT NULL,            -- in_progress | imported | skipped | failed
    rows_read bigint NOT NULL DEFAULT 0,
    rows_imported bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    rows_duplicate bigint NOT NULL DEFAULT 0,
    rows_filtered bigint NOT NULL DEFAULT 0,
    rows_failed bigint NOT NULL DEFAULT 0,
    bytes_committed bigint NOT NULL DEFAULT 0,
    rows_committed bigint NOT NULL DEFAULT 0,
    line_committed bigint NOT NULL DEFAULT 1,
    error text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    channel text,
    real_path text
);
CREATE INDEX import_files_by_hash ON import_files(content_hash, state);
CREATE INDEX import_files_by_run ON import_files(run_id);
CREATE TABLE import_file_runs (
    file_id bigint NOT NULL,
    run_id bigint NOT NULL,
    rows_imported bigint NOT NULL,
    rows_rejected bigint NOT NULL,
    rows_duplicate bigint NOT NULL,
    rows_filtered bigint NOT NULL,
    PRIMARY KEY (file_id, run_id)
);
CREATE TABLE dropship_purchases (
    kode_pesanan text PRIMARY KEY,
    waktu_pesanan_terbuat timestamptz NOT NULL,
    status_pesanan_terakhir text,
    kode_transaksi text,
    biaya_lainnya_sen bigint,
    biaya_mitra_jakmall_sen bigint,
    total_transaksi_sen bigint NOT NULL,
    dibuat_oleh text,
    jenis_channel text,
    nama_toko text,
    kode_invoice_channel text,
    gudang_pengiriman text,
    jenis_ekspedisi text,
    cashless text,
    nomor_resi text,
    waktu_pengiriman timestamptz,
    provinsi text,
    kota text,
    import_file_id bigint NOT NULL,
    source_line bigint NOT NULL
);
CREATE TABLE dropship_purchase_details (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kode_pesanan text NOT NULL,        -- the order's (not enforced, as in SQLite)
    sku text NOT NULL,
    nama_produk text,
    harga_produk_sen bigint NOT NULL,
    qty integer NOT NULL,
    total_harga_produk_sen bigint NOT NULL,
    harga_produk_channel_sen bigint,
    total_harga_produk_channel_sen bigint,
    potensi_keuntungan_sen bigint,
    import_file_id bigint NOT NULL,
    source_line bigint NOT NULL
);
CREATE INDEX dropship_purchase_details_by_order ON dropship_purchase_details(kode_pesanan);
CREATE TABLE import_rejects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES import_runs(id),
    file_id bigint NOT NULL REFERENCES import_files(id),
    line bigint NOT NULL,
    column_name text,
    value text,
    reason text NOT NULL,
    message text NOT NULL,
    raw text
);
CREATE INDEX import_rejects_by_file ON import_rejects(file_id);
    ",
    // 2: rows go straight into the data tables, as in SQLite: an order
    // belongs to the first file that writes it, the rows of files that
    // meet it while that file is still being read wait here, and what
    // `on_duplicate = update` replaced is kept until the replacing file is
    // imported, so that a failed file can put it back. Staging tables of
    // files that killed runs left part-way are dropped: their files are
    // rolled back and read again from the start.
    "
CREATE TABLE import_replaced_orders (by_file_id bigint NOT NULL, LIKE dropship_purchases);
CREATE INDEX import_replaced_orders_by_file ON import_replaced_orders(by_file_id);
CREATE TABLE import_replaced_lines (by_file_id bigint NOT NULL, LIKE dropship_purchase_details);
CREATE INDEX import_replaced_lines_by_file ON import_replaced_lines(by_file_id);
CREATE TABLE import_waiting_rows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_file_id bigint NOT NULL,  -- the file that owns the order now
    file_id bigint NOT NULL,        -- the file these rows come from
    waktu_pesanan_terbuat timestamptz,
    status_pesanan_terakhir text,
    kode_pesanan text NOT NULL,
    kode_transaksi text,
    sku text,
    nama_produk text,
    harga_produk_sen bigint,
    qty integer,
    total_harga_produk_sen bigint,
    biaya_lainnya_sen bigint,
    biaya_mitra_jakmall_sen bigint,
    total_transaksi_sen bigint,
    harga_produk_channel_sen bigint,
    total_harga_produk_channel_sen bigint,
    potensi_keuntungan_sen bigint,
    dibuat_oleh text,
    jenis_channel text,
    nama_toko text,
    kode_invoice_channel text,
    gudang_pengiriman text,
    jenis_ekspedisi text,
    cashless text,
    nomor_resi text,
    waktu_pengiriman timestamptz,
    provinsi text,
    kota text,
    source_line bigint NOT NULL,
    run_id bigint NOT NULL          -- the run that read them (and counted them)
);
CREATE INDEX import_waiting_rows_by_owner ON import_waiting_rows(owner_file_id, kode_pesanan);
CREATE INDEX import_waiting_rows_by_file ON import_waiting_rows(file_id);
-- The orders each run counted of a file that more than one run read, so
-- that they leave that run's totals too when the file is rolled back.
ALTER TABLE import_file_runs ADD COLUMN orders_created bigint NOT NULL DEFAULT 0,
    ADD COLUMN orders_updated bigint NOT NULL DEFAULT 0,
    ADD COLUMN orders_duplicate bigint NOT NULL DEFAULT 0;
DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename LIKE 'import\\_staged\\_%'
    LOOP
        EXECUTE format('DROP TABLE %I', t.tablename);
    END LOOP;
END $$;
UPDATE import_runs AS r SET
    rows_imported = greatest(r.rows_imported - f.rows_imported, 0),
    rows_rejected = greatest(r.rows_rejected - f.rows_rejected, 0),
    rows_duplicate = greatest(r.rows_duplicate - f.rows_duplicate, 0),
    rows_filtered = greatest(r.rows_filtered - f.rows_filtered, 0),
    rows_failed = r.rows_failed + f.rows_imported + f.rows_rejected + f.rows_duplicate
        + f.rows_filtered
FROM import_file_runs AS f
WHERE f.run_id = r.id
  AND f.file_id IN (SELECT id FROM import_files WHERE state = 'in_progress');
DELETE FROM import_file_runs
WHERE file_id IN (SELECT id FROM import_files WHERE state = 'in_progress');
UPDATE import_files SET state = 'failed', finished_at = clock_timestamp(),
    error = 'rolled back: left part-way by a killed run of an older dropship-import',
    rows_imported = 0, rows_rejected = 0, rows_duplicate = 0, rows_filtered = 0,
    rows_failed = rows_read
WHERE state = 'in_progress';
    ",
    // 3: order keys compare as bytes (`COLLATE "C"`), not through the
    // database's locale: equal keys are equal either way, and comparing
    // them as bytes took a fifth of the server's time in a load. A line's
    // primary key leads with its order, so that one index finds the lines
    // of an order and keeps `id` unique; the index by order alone goes.
    "
ALTER TABLE dropship_purchases ALTER COLUMN kode_pesanan TYPE text COLLATE \"C\";
ALTER TABLE dropship_purchase_details ALTER COLUMN kode_pesanan TYPE text COLLATE \"C\";
ALTER TABLE import_replaced_orders ALTER COLUMN kode_pesanan TYPE text COLLATE \"C\";
ALTER TABLE import_replaced_lines ALTER COLUMN kode_pesanan TYPE text COLLATE \"C\";
ALTER TABLE import_waiting_rows ALTER COLUMN kode_pesanan TYPE text COLLATE \"C\";
ALTER TABLE dropship_purchase_details DROP CONSTRAINT dropship_purchase_details_pkey,
    ADD PRIMARY KEY (kode_pesanan, id);
DROP INDEX dropship_purchase_details_by_order;
    ",
    // 4: a line's id is taken from its sequence a thousand at a time: one
    // trip to the sequence per line was a twentieth of a load. Ids stay
    // unique and increasing within a run; a run leaves a gap of the ids it
    // took but did not use.
    "
ALTER TABLE dropship_purchase_details ALTER COLUMN id SET CACHE 1000;
    ",
    // 5: runs share a schema (see `claim`): a run's lease and the session
    // it writes through, to tell live runs from dead ones; a file's claim
    // generation, raised when a run takes the file over, which every
    // commit of the run that holds it checks; the counts of a run's files,
    // which other runs adjust when they hand it orders.
    "
ALTER TABLE import_runs ADD COLUMN lease_until timestamptz,
    ADD COLUMN backend_pid integer, ADD COLUMN backend_start timestamptz;
ALTER TABLE import_files ADD COLUMN claim integer NOT NULL DEFAULT 1;
CREATE INDEX import_file_runs_by_run ON import_file_runs(run_id);
    ",
    // 6: as SQLite's 5: what each run committed of each file is kept after
    // the file ends, with where it began and its last checkpoint, so that
    // `status` shows each run only its own rows; and the work a run was
    // given when it started, so that its progress is told exactly.
    "
ALTER TABLE import_file_runs ADD COLUMN rows_read bigint,
    ADD COLUMN rows_failed bigint NOT NULL DEFAULT 0,
    ADD COLUMN bytes_from bigint NOT NULL DEFAULT 0, ADD COLUMN line_from bigint,
    ADD COLUMN bytes_committed bigint, ADD COLUMN rows_committed bigint,
    ADD COLUMN line_committed bigint;
ALTER TABLE import_runs ADD COLUMN planned_files bigint, ADD COLUMN planned_bytes bigint,
    ADD COLUMN skipped_bytes bigint;
    ",
];

/// The schema version this build writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// The tables the tool creates: any of them found in a schema without the
/// tool's version table belongs to someone else.
pub const TABLES: &[&str] = &[
    "import_runs",
    "import_files",
    "import_file_runs",
    "import_rejects",
    "dropship_purchases",
    "dropship_purchase_details",
    "import_replaced_orders",
    "import_replaced_lines",
    "import_waiting_rows",
];

/// What a schema holds, as the tool sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No version table and none of the tool's tables: nothing yet.
    Nothing,
    /// The tool's tables at this version.
    Version(i32),
}

/// Reads what `schema` holds; an error names a table the tool did not
/// create, or a version newer than this build.
pub fn inspect(pg: &mut Pg, schema: &str) -> Result<Found> {
    let version_table = format!("{}.import_schema_version", ident(schema));
    let has_version: bool = pg
        .one(sqlx::query("SELECT to_regclass($1) IS NOT NULL").bind(&version_table))?
        .try_get(0)?;
    if has_version {
        let version: Option<i32> = pg
            .one(sqlx::query(&format!(
                "SELECT max(version) FROM {version_table}"
            )))?
            .try_get(0)?;
        let version = version.unwrap_or(0);
        if version > VERSION {
            bail!(
                "schema {schema} of {} was written by a newer dropship-import (schema version \
                 {version}, this one knows {VERSION}): upgrade dropship-import",
                pg.shown
            );
        }
        return Ok(Found::Version(version));
    }
    for table in TABLES {
        let name = format!("{}.{}", ident(schema), ident(table));
        let exists: bool = pg
            .one(sqlx::query("SELECT to_regclass($1) IS NOT NULL").bind(&name))?
            .try_get(0)?;
        if exists {
            bail!(
                "table {schema}.{table} in {} was not created by dropship-import; it is left \
                 untouched: choose another schema with --schema",
                pg.shown
            );
        }
    }
    Ok(Found::Nothing)
}

/// Creates or migrates the tables in `schema`, under an advisory lock so
/// that two runs never migrate at once.
pub fn migrate(pg: &mut Pg, schema: &str) -> Result<()> {
    pg.batch("BEGIN")?;
    let done = (|| -> Result<()> {
        pg.exec(
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(MIGRATE_CLASS)
                .bind(schema),
        )?;
        let found = inspect(pg, schema)?;
        let from = match found {
            Found::Nothing => 0,
            Found::Version(v) => v,
        };
        if from == VERSION {
            return Ok(());
        }
        pg.batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {0}; SET LOCAL search_path TO {0}",
            ident(schema)
        ))?;
        if from == 0 {
            pg.batch("CREATE TABLE import_schema_version (version integer NOT NULL)")?;
        }
        for sql in &MIGRATIONS[from as usize..] {
            pg.batch(sql)?;
        }
        pg.batch(&format!(
            "DELETE FROM import_schema_version; INSERT INTO import_schema_version VALUES ({VERSION})"
        ))?;
        Ok(())
    })();
    match done {
        Ok(()) => pg.batch("COMMIT"),
        Err(e) => {
            let _ = pg.batch("ROLLBACK");
            Err(e.context(format!("cannot create the tables in {}", pg.shown)))
        }
    }
}

/// The primary key of the order lines, which also finds an order's lines
/// (migration 3). Loading into an empty table, it is cheaper to build once
/// from the loaded rows (one sort, on the server's spare cores) than to
/// keep up row by row: see [`defer_line_key`].
const LINE_KEY: &str = "dropship_purchase_details_pkey";

/// Drops the line key while `dropship_purchase_details` is empty and no
/// other run is live (one that writes lines meanwhile would do without
/// it), for the writer to build it again with [`build_line_key`] when the
/// load is done or an order's lines must be found. True when the key is
/// absent on return: just dropped, or left out by another run (live, or
/// dead before it built it); whichever run ends first builds it. Runs in
/// the writer's turn (see `claim`), with the schema first on the
/// `search_path`.
pub fn defer_line_key(pg: &mut Pg, alone: bool) -> Result<bool> {
    if !line_key_present(pg)? {
        return Ok(true);
    }
    let empty: bool = pg
        .one(sqlx::query(
            "SELECT NOT EXISTS (SELECT 1 FROM dropship_purchase_details)",
        ))?
        .try_get(0)?;
    if empty && alone {
        pg.batch(&format!(
            "ALTER TABLE dropship_purchase_details DROP CONSTRAINT {LINE_KEY}"
        ))?;
    }
    Ok(empty && alone)
}

/// Builds the line key if it is absent: the index first, which readers of
/// the table do not wait for, then the constraint over it, in one
/// transaction (or in the caller's).
pub fn build_line_key(pg: &mut Pg) -> Result<()> {
    if !line_key_present(pg)? {
        pg.batch(&format!(
            "CREATE UNIQUE INDEX {LINE_KEY} ON dropship_purchase_details (kode_pesanan, id);
             ALTER TABLE dropship_purchase_details
                 ADD CONSTRAINT {LINE_KEY} PRIMARY KEY USING INDEX {LINE_KEY}"
        ))?;
    }
    Ok(())
}

/// Whether `dropship_purchase_details` has its primary key.
fn line_key_present(pg: &mut Pg) -> Result<bool> {
    Ok(pg
        .one(sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint
                            WHERE conrelid = 'dropship_purchase_details'::regclass
                              AND contype = 'p')",
        ))?
        .try_get(0)?)
}
