//! Who owns an order, for a real run: the SQLite writer's rules, with the
//! rows of a chunk looked up and written in a few statements.
//!
//! An order belongs to the first file that writes it. A chunk asks once
//! who owns each of its orders; then its new orders and the lines of the
//! orders its file owns go in with binary `COPY`. Rows of orders that
//! another unfinished file owns wait in `import_waiting_rows` (counted as
//! duplicates) until that file is imported (they stay duplicates) or fails
//! (the first file that met the order takes it over). Under
//! `on_duplicate = update` an order of a finished file is replaced, and
//! the version it replaced kept until the replacing file is imported.

use super::super::binary::{BinaryCopy, Span, sorted_by};
use super::super::{COPY_NULL, copy_int, copy_text};
use super::{FileState, Writer, int};
use crate::columns::{FIELDS, Kind, idx};
use crate::outcome::{FileStatus, Reject, RowCounts};
use crate::rows::{Chunk, Row, Value};
use crate::settings::OnDuplicate;
use anyhow::Result;
use sqlx::Row as _;
use std::collections::HashMap;

/// How the file being written stands to one of its orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// No file has it yet: this row creates it.
    New,
    /// This file has it: the row is one more of its lines.
    ThisFile,
    /// A finished file has it, and `skip` leaves it so.
    Other,
    /// A finished file has it, and `update` replaces it with this row's.
    Replace,
    /// An unfinished file (this id) has it: being read by this run, or
    /// left part-way by a killed one. It may yet fail or add lines.
    Waiting(i64),
}

/// The fields of an order, then of a line, as `FIELDS` indices.
fn order_fields() -> impl Iterator<Item = usize> {
    (0..FIELDS.len()).filter(|&i| FIELDS[i].order_level)
}

fn line_fields() -> impl Iterator<Item = usize> {
    (0..FIELDS.len()).filter(|&i| !FIELDS[i].order_level || i == idx::KODE_PESANAN)
}

fn list(fields: impl Iterator<Item = usize>, tail: &[&str]) -> String {
    fields
        .map(|i| FIELDS[i].column)
        .chain(tail.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns the writer fills: of an order and of a line, each ending
/// with `import_file_id, source_line`; the same values as found in
/// `import_waiting_rows` (`*_from_waiting`); and that table's own.
pub(super) struct Columns {
    order_fields: Vec<usize>,
    line_fields: Vec<usize>,
    /// Where the order's key is among `order_fields` and `line_fields`.
    order_key: Option<usize>,
    line_key: Option<usize>,
    order: String,
    line: String,
    waiting: String,
    order_from_waiting: String,
    line_from_waiting: String,
}

pub(super) fn columns() -> &'static Columns {
    static COLUMNS: std::sync::OnceLock<Columns> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        let file = ["import_file_id", "source_line"];
        let from_waiting = ["file_id", "source_line"];
        Columns {
            order_fields: order_fields().collect(),
            line_fields: line_fields().collect(),
            order_key: order_fields().position(|i| i == idx::KODE_PESANAN),
            line_key: line_fields().position(|i| i == idx::KODE_PESANAN),
            order: list(order_fields(), &file),
            line: list(line_fields(), &file),
            waiting: ["owner_file_id", "file_id"]
                .into_iter()
                .chain(FIELDS.iter().map(|f| f.column))
                .chain(["source_line", "run_id"])
                .collect::<Vec<_>>()
                .join(", "),
            order_from_waiting: list(order_fields(), &from_waiting),
            line_from_waiting: list(line_fields(), &from_waiting),
        }
    })
}

const REJECT_COLUMNS: &str = "run_id, file_id, line, column_name, value, reason, message, raw";

/// Appends field `field` of `row` to a binary `COPY` row.
fn put(copy: &mut BinaryCopy<'_>, chunk: &Chunk, row: &Row, field: usize) -> Result<()> {
    match (chunk.value(row, field), FIELDS[field].kind) {
        (Value::Null, _) => copy.null(),
        (Value::Text(s), Kind::Datetime) => copy.timestamptz(s)?,
        (Value::Text(s), _) => copy.text(s)?,
        (Value::Int(n), Kind::Qty) => copy.int4(n)?,
        (Value::Int(n), _) => copy.int8(n),
    }
    Ok(())
}

/// Appends `row` with the given fields, then its file and line.
fn put_row(
    copy: &mut BinaryCopy<'_>,
    chunk: &Chunk,
    row: &Row,
    fields: &[usize],
    file_id: i64,
) -> Result<()> {
    copy.row(fields.len() as u16 + 2);
    for &field in fields {
        put(copy, chunk, row, field)?;
    }
    copy.int8(file_id);
    copy.int8(int(row.line));
    Ok(())
}

/// Counts an order of another file once per file.
fn count_duplicate_order(state: &mut FileState, key: &str) {
    if state.duplicate_orders.insert(key.to_string()) {
        state.outcome.orders.duplicate += 1;
    }
}

/// Rows written but not sent yet: the `COPY` streams of the chunks since
/// the last send (orders, lines, waiting rows and rejects), and the orders
/// they create. Each `COPY` has a cost of its own for every row up to a
/// thousand (the server's insert buffer is built afresh each time), and
/// each statement a round trip, so chunks are sent together: held rows go
/// once the next chunks have asked who holds their orders, if they are at
/// least half of [`Streams::FULL_ROWS`], and before a chunk that would
/// make them more than that or [`Streams::FULL_BYTES`] bytes; and always
/// before anything else reads or changes the tables (see `Writer::send`).
#[derive(Default)]
pub(super) struct Streams {
    orders: Vec<u8>,
    lines: Vec<u8>,
    waiting: Vec<u8>,
    /// Rejected rows, in `COPY`'s text format.
    rejects: Vec<u8>,
    rows: usize,
    /// The orders in `orders`, and the file that creates each (its index
    /// and its id).
    created: HashMap<String, (usize, i64)>,
    /// The same, of rows sent since [`Writer::holders`] last read the
    /// tables: the chunks it was asked about do not see them there.
    sent_created: HashMap<String, (usize, i64)>,
    /// The files that rows in `waiting` wait on.
    waited_on: Vec<i64>,
    /// Where the rows of `orders` or `lines` lie, to sort them by key.
    spans: Vec<Span>,
    /// The buffer each stream (orders, lines, waiting rows, rejects) is
    /// handed to the server in, and the streams whose buffers are with it.
    sending: [Vec<u8>; 4],
    in_flight: Vec<usize>,
}

/// Who held orders in the tables, as [`Writer::holders`] found them.
#[derive(Default)]
pub(super) struct Holders(HashMap<String, (i64, bool)>);

impl Holders {
    /// Orders read as one range of the primary key.
    const RANGE: usize = 32;
}

impl Streams {
    /// Rows held before they are sent.
    pub(super) const FULL_ROWS: usize = 8192;
    /// Bytes held before they are sent, whatever the size of the rows.
    const FULL_BYTES: usize = 8 << 20;
    /// Bytes of waiting rows and rejects that go with every send.
    const SIDE_BYTES: usize = 1 << 20;

    /// Whether the rows held are enough for a `COPY` of their own: sent a
    /// few at a time, the statements' own costs outweighed what the
    /// overlap gained.
    pub(super) fn worth_sending(&self) -> bool {
        self.rows >= Streams::FULL_ROWS / 2
    }

    /// Whether `rows` more rows would make the streams more than full.
    pub(super) fn would_overflow(&self, rows: usize) -> bool {
        let bytes = self.orders.len() + self.lines.len() + self.waiting.len() + self.rejects.len();
        self.rows > 0 && (self.rows + rows >= Streams::FULL_ROWS || bytes >= Streams::FULL_BYTES)
    }
}

impl Writer {
    /// Who holds the orders of `chunks` in the tables now: for each order
    /// found, its file and whether that file is unfinished.
    ///
    /// A chunk's orders mostly sort close together (an export lists its
    /// orders by time), so the table is read once per [`Holders::RANGE`]
    /// orders in sorted order, over the range they span, for at most twice
    /// as many orders as the range has; a range that holds more (one that
    /// spans the few orders of other days) is asked about order by order.
    /// Either way each read walks the primary key, whatever the planner
    /// thinks of the table: while it grows it has no statistics, and a
    /// plain join or `= ANY` was planned as a scan of the whole table.
    pub(super) fn holders(&mut self, chunks: &[Chunk]) -> Result<Holders> {
        // Rows sent so far are in the tables read here.
        self.streams.sent_created.clear();
        let mut keys: Vec<&str> = chunks
            .iter()
            .filter(|c| self.files[c.file].id.is_some() && !self.files[c.file].lost)
            .flat_map(|c| c.rows.iter().map(|r| c.key(r)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut holders = Holders::default();
        if keys.is_empty() {
            return Ok(holders);
        }
        let ranges: Vec<&[&str]> = keys.chunks(Holders::RANGE).collect();
        let lows: Vec<&str> = ranges.iter().map(|r| r[0]).collect();
        let highs: Vec<&str> = ranges.iter().map(|r| r[r.len() - 1]).collect();
        let limits: Vec<i64> = ranges.iter().map(|r| 2 * r.len() as i64).collect();
        let read = self.pg.all(
            sqlx::query(
                "SELECT p.kode_pesanan, p.import_file_id, coalesce(f.state = 'in_progress', false),
                        r.n
                 FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY
                      AS r (lo, hi, most, n)
                 CROSS JOIN LATERAL (SELECT kode_pesanan, import_file_id FROM dropship_purchases
                                     WHERE kode_pesanan BETWEEN r.lo AND r.hi
                                     ORDER BY kode_pesanan LIMIT r.most + 1) p
                 LEFT JOIN import_files f ON f.id = p.import_file_id",
            )
            .bind(&lows)
            .bind(&highs)
            .bind(&limits),
        )?;
        let mut found = vec![0i64; ranges.len()];
        for r in &read {
            found[r.try_get::<i64, _>(3)? as usize - 1] += 1;
        }
        let crowded = |i: usize| found[i] > limits[i];
        for r in &read {
            let (key, i): (&str, i64) = (r.try_get(0)?, r.try_get(3)?);
            let i = i as usize - 1;
            if !crowded(i) && ranges[i].binary_search(&key).is_ok() {
                holders
                    .0
                    .insert(key.to_string(), (r.try_get(1)?, r.try_get(2)?));
            }
        }
        let one_by_one: Vec<&str> = (0..ranges.len())
            .filter(|&i| crowded(i))
            .flat_map(|i| ranges[i].iter().copied())
            .collect();
        if one_by_one.is_empty() {
            return Ok(holders);
        }
        let probed = self.pg.all(
            sqlx::query(
                "SELECT k.kode_pesanan, p.import_file_id, coalesce(f.state = 'in_progress', false)
                 FROM unnest($1::text[]) AS k (kode_pesanan)
                 CROSS JOIN LATERAL (SELECT import_file_id FROM dropship_purchases
                                     WHERE kode_pesanan = k.kode_pesanan LIMIT 1) p
                 LEFT JOIN import_files f ON f.id = p.import_file_id",
            )
            .bind(&one_by_one),
        )?;
        for r in &probed {
            holders
                .0
                .insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
        }
        Ok(holders)
    }

    /// Writes a chunk's accepted rows into the data tables (or to wait),
    /// given who held its orders before the chunks that came with it; how
    /// many were imported and how many are duplicates.
    pub(super) fn write_rows(
        &mut self,
        file: usize,
        file_id: i64,
        run: i64,
        chunk: &Chunk,
        holders: &Holders,
    ) -> Result<RowCounts> {
        let update = self.opts.on_duplicate == OnDuplicate::Update;
        let mut owners: HashMap<&str, Owner> = HashMap::with_capacity(chunk.rows.len());
        for row in &chunk.rows {
            let key = chunk.key(row);
            let Some(&(id, unfinished)) = holders.0.get(key) else {
                continue;
            };
            let owner = match (id == file_id, unfinished, update) {
                (true, _, _) => Owner::ThisFile,
                (false, true, _) => Owner::Waiting(id),
                (false, false, false) => Owner::Other,
                (false, false, true) => Owner::Replace,
            };
            owners.insert(key, owner);
        }
        // Orders created by rows not sent yet, or sent since `holders` read
        // the tables (by this chunk's companions too): by files still being
        // read, or, under `skip`, by files imported since (under `update` a
        // file's end sends its rows first, see `Writer::handle`).
        for row in &chunk.rows {
            let key = chunk.key(row);
            let streams = &self.streams;
            let created = (streams.created.get(key)).or_else(|| streams.sent_created.get(key));
            if let Some(&(by, id)) = created {
                let owner = match (by == file, self.files[by].outcome.status) {
                    (true, _) => Owner::ThisFile,
                    (false, FileStatus::Imported) => Owner::Other,
                    (false, _) => Owner::Waiting(id),
                };
                owners.insert(key, owner);
            }
        }

        let mut streams = std::mem::take(&mut self.streams);
        let written = self.encode_rows(file, file_id, run, chunk, &mut owners, &mut streams);
        self.streams = streams;
        written
    }

    /// Sends the rows written so far; `everything`, or only the orders and
    /// lines while the waiting rows and rejects are few. Each `COPY` costs
    /// two round trips: those few ride with the next send that has to
    /// take everything (see `Writer::send`), since nothing reads them
    /// before.
    pub(super) fn send_rows(&mut self, everything: bool) -> Result<()> {
        let mut streams = std::mem::take(&mut self.streams);
        let c = columns();
        let everything =
            everything || streams.waiting.len() + streams.rejects.len() >= Streams::SIDE_BYTES;
        // Each stream's rows go to the server in a buffer of the stream's
        // own, back from its last send: orders and lines in the order of
        // their key, each order's lines as read (see `sorted_by`);
        // waiting rows and rejects as read.
        let returned = self.pg.finished_copies();
        let mut sent = returned.map(|buffers| {
            for (stream, buffer) in streams.in_flight.drain(..).zip(buffers) {
                streams.sending[stream] = buffer;
            }
        });
        let copies = [
            ("dropship_purchases", c.order.as_str(), c.order_key, true),
            ("dropship_purchase_details", &c.line, c.line_key, true),
            ("import_waiting_rows", &c.waiting, None, everything),
            ("import_rejects", REJECT_COLUMNS, None, everything),
        ];
        let mut sends = Vec::new();
        for (stream, (table, columns, key, now)) in copies.into_iter().enumerate() {
            let out = match stream {
                0 => &mut streams.orders,
                1 => &mut streams.lines,
                2 => &mut streams.waiting,
                _ => &mut streams.rejects,
            };
            if !now || out.is_empty() {
                continue;
            }
            let mut data = std::mem::take(&mut streams.sending[stream]);
            match key {
                Some(field) => sorted_by(out, field, &mut streams.spans, &mut data),
                None => data.extend_from_slice(out),
            }
            out.clear();
            let format = match table {
                "import_rejects" => "text",
                _ => {
                    BinaryCopy::append(&mut data).finish();
                    "binary"
                }
            };
            streams.in_flight.push(stream);
            sends.push((
                format!("COPY {table} ({columns}) FROM STDIN (FORMAT {format})"),
                data,
            ));
        }
        // The server copies while the next chunks are encoded: the next
        // statement waits for it.
        if sent.is_ok() && !sends.is_empty() {
            sent = self.pg.copy_in_background(sends);
        }
        streams.rows = 0;
        let created = std::mem::take(&mut streams.created);
        streams.sent_created.extend(created);
        // Under `skip`, rows that waited on a file imported since are
        // duplicates for good: they leave the table once sent (its end
        // deleted those sent before).
        let mut released = Vec::new();
        if everything {
            if self.opts.on_duplicate == OnDuplicate::Skip {
                released = (streams.waited_on.iter().copied())
                    .filter(|&id| {
                        (self.files.iter())
                            .any(|f| f.id == Some(id) && f.outcome.status == FileStatus::Imported)
                    })
                    .collect();
            }
            streams.waited_on.clear();
        }
        self.streams = streams;
        sent?;
        if !released.is_empty() {
            self.pg.exec(
                sqlx::query("DELETE FROM import_waiting_rows WHERE owner_file_id = ANY($1)")
                    .bind(&released),
            )?;
        }
        Ok(())
    }

    /// Holds a chunk's rejects until its rows are sent.
    pub(super) fn hold_rejects(&mut self, file_id: i64, run: i64, rejects: &[Reject]) {
        let out = &mut self.streams.rejects;
        let text = |out: &mut Vec<u8>, s: Option<&str>| match s {
            Some(s) => copy_text(out, s),
            None => out.extend_from_slice(COPY_NULL),
        };
        for r in rejects {
            copy_int(out, run);
            out.push(b'\t');
            copy_int(out, file_id);
            out.push(b'\t');
            copy_int(out, int(r.line));
            out.push(b'\t');
            text(out, r.column.as_deref());
            out.push(b'\t');
            text(out, r.value.as_deref());
            out.push(b'\t');
            copy_text(out, r.reason.code());
            out.push(b'\t');
            copy_text(out, &r.message);
            out.push(b'\t');
            copy_text(out, &r.raw);
            out.push(b'\n');
        }
        self.streams.rows += rejects.len();
    }

    /// Decides each row's fate in chunk order and writes it to its stream;
    /// an order of a finished file that `update` replaces is replaced here,
    /// before its new version is copied in.
    fn encode_rows<'c>(
        &mut self,
        file: usize,
        file_id: i64,
        run: i64,
        chunk: &'c Chunk,
        owners: &mut HashMap<&'c str, Owner>,
        streams: &mut Streams,
    ) -> Result<RowCounts> {
        let mut orders = BinaryCopy::append(&mut streams.orders);
        let mut lines = BinaryCopy::append(&mut streams.lines);
        let mut waiting = BinaryCopy::append(&mut streams.waiting);
        let mut counts = RowCounts::default();
        let c = columns();
        for row in &chunk.rows {
            let key = chunk.key(row);
            let owner = owners.get(key).copied().unwrap_or(Owner::New);
            match owner {
                Owner::New | Owner::Replace => {
                    if owner == Owner::Replace {
                        self.replace_order(Some(file_id), key)?;
                        self.files[file].outcome.orders.updated += 1;
                    } else {
                        self.files[file].outcome.orders.created += 1;
                    }
                    owners.insert(key, Owner::ThisFile);
                    streams.created.insert(key.to_string(), (file, file_id));
                    put_row(&mut orders, chunk, row, &c.order_fields, file_id)?;
                    put_row(&mut lines, chunk, row, &c.line_fields, file_id)?;
                    counts.imported += 1;
                }
                Owner::ThisFile => {
                    put_row(&mut lines, chunk, row, &c.line_fields, file_id)?;
                    counts.imported += 1;
                }
                Owner::Other => {
                    count_duplicate_order(&mut self.files[file], key);
                    counts.duplicate += 1;
                }
                Owner::Waiting(holder) => {
                    if !streams.waited_on.contains(&holder) {
                        streams.waited_on.push(holder);
                    }
                    waiting.row(FIELDS.len() as u16 + 4);
                    waiting.int8(holder);
                    waiting.int8(file_id);
                    for field in 0..FIELDS.len() {
                        put(&mut waiting, chunk, row, field)?;
                    }
                    waiting.int8(int(row.line));
                    waiting.int8(run);
                    count_duplicate_order(&mut self.files[file], key);
                    counts.duplicate += 1;
                }
            }
        }
        streams.rows += chunk.rows.len();
        Ok(counts)
    }

    /// True when file `id` is still `in_progress`: being read by this run,
    /// or left so by a killed one. Such a file may yet fail or add lines.
    fn unfinished(&mut self, id: i64) -> Result<bool> {
        Ok(self
            .pg
            .optional(
                sqlx::query("SELECT state = 'in_progress' FROM import_files WHERE id = $1")
                    .bind(id),
            )?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(false))
    }

    /// Removes an order and its lines, for file `by` to write its own
    /// version. When `by` may still fail, a copy is kept (tagged with `by`,
    /// and holding the `import_file_id` of the version it is) for its
    /// rollback to put back.
    fn replace_order(&mut self, by: Option<i64>, key: &str) -> Result<()> {
        let keep = [
            "INSERT INTO import_replaced_orders SELECT $1, * FROM dropship_purchases
             WHERE kode_pesanan = $2",
            "INSERT INTO import_replaced_lines SELECT $1, * FROM dropship_purchase_details
             WHERE kode_pesanan = $2",
        ];
        if let Some(by) = by {
            for sql in keep {
                self.pg.exec(sqlx::query(sql).bind(by).bind(key))?;
            }
        }
        for sql in [
            "DELETE FROM dropship_purchase_details WHERE kode_pesanan = $1",
            "DELETE FROM dropship_purchases WHERE kode_pesanan = $1",
        ] {
            self.pg.exec(sqlx::query(sql).bind(key))?;
        }
        Ok(())
    }

    /// Takes a file's orders and lines out of the data tables and puts back
    /// what it replaced, so the tables are as if the file had never been
    /// read: each order it held goes to the first file that met it while it
    /// was being read (see `hand_over`), and for every order the newest
    /// version of a file that did not fail stands, whatever the order in
    /// which files fail.
    pub(super) fn remove_file_rows(&mut self, file_id: i64) -> Result<()> {
        self.need_line_key()?;
        // However large the file, no pause of this process holds it up.
        self.pg.unbound()?;
        let done = self.take_out(file_id);
        self.pg.rebound()?;
        done
    }

    /// See [`Writer::remove_file_rows`].
    fn take_out(&mut self, file_id: i64) -> Result<()> {
        self.uncount_earlier_runs(file_id)?;
        self.pg.exec(
            sqlx::query("DELETE FROM import_waiting_rows WHERE file_id = $1").bind(file_id),
        )?;
        self.unchain_replaced(file_id)?;
        let c = columns();
        let line_columns = format!("id, {}", c.line);
        let statements = [
            "DELETE FROM dropship_purchase_details WHERE kode_pesanan IN
             (SELECT kode_pesanan FROM dropship_purchases WHERE import_file_id = $1)"
                .to_string(),
            "DELETE FROM dropship_purchases WHERE import_file_id = $1".to_string(),
            format!(
                "INSERT INTO dropship_purchases ({0}) SELECT {0} FROM import_replaced_orders
                 WHERE by_file_id = $1 ON CONFLICT DO NOTHING",
                c.order
            ),
            format!(
                "INSERT INTO dropship_purchase_details ({0}) OVERRIDING SYSTEM VALUE
                 SELECT {0} FROM import_replaced_lines l WHERE by_file_id = $1 AND EXISTS
                 (SELECT 1 FROM dropship_purchases p
                  WHERE p.kode_pesanan = l.kode_pesanan AND p.import_file_id = l.import_file_id)
                 ON CONFLICT DO NOTHING",
                line_columns
            ),
        ];
        for sql in &statements {
            self.pg.exec(sqlx::query(sql).bind(file_id))?;
        }
        self.forget_replaced(file_id)?;
        self.hand_over_all(file_id)
    }

    /// Each row is counted in the run that committed it: rows of a file
    /// rolled back that earlier runs committed (before a kill) move to
    /// failed in those runs' totals and in what each run committed of it,
    /// and the run its entry still belongs to counts it among its failed
    /// files. This run's own are counted when the file ends.
    fn uncount_earlier_runs(&mut self, file_id: i64) -> Result<()> {
        self.pg.exec(
            sqlx::query(
                "UPDATE import_runs AS r SET
                 rows_imported = greatest(r.rows_imported - f.rows_imported, 0),
                 rows_rejected = greatest(r.rows_rejected - f.rows_rejected, 0),
                 rows_duplicate = greatest(r.rows_duplicate - f.rows_duplicate, 0),
                 rows_filtered = greatest(r.rows_filtered - f.rows_filtered, 0),
                 rows_failed = r.rows_failed + f.rows_imported + f.rows_rejected
                     + f.rows_duplicate + f.rows_filtered,
                 orders_created = greatest(r.orders_created - f.orders_created, 0),
                 orders_updated = greatest(r.orders_updated - f.orders_updated, 0),
                 orders_duplicate = greatest(r.orders_duplicate - f.orders_duplicate, 0),
                 files_failed = r.files_failed
                     + (r.id = (SELECT run_id FROM import_files WHERE id = $1))::int
                 FROM import_file_runs AS f
                 WHERE f.file_id = $1 AND f.run_id = r.id AND r.id <> $2",
            )
            .bind(file_id)
            .bind(self.run_id.unwrap_or(0)),
        )?;
        self.pg.exec(
            sqlx::query(
                "UPDATE import_file_runs SET rows_failed = rows_failed + rows_imported
                 + rows_rejected + rows_duplicate + rows_filtered, rows_imported = 0,
                 rows_rejected = 0, rows_duplicate = 0, rows_filtered = 0, orders_created = 0,
                 orders_updated = 0, orders_duplicate = 0 WHERE file_id = $1",
            )
            .bind(file_id),
        )?;
        Ok(())
    }

    /// A file G that replaced an order of failing file F keeps F's version
    /// to put back should G fail too; F's version must never come back, so
    /// G keeps instead what F had replaced (or nothing, when F created the
    /// order).
    fn unchain_replaced(&mut self, failed: i64) -> Result<()> {
        let statements = [
            "UPDATE import_replaced_lines AS l SET by_file_id = g.by_file_id
             FROM import_replaced_orders g
             WHERE l.by_file_id = $1 AND g.import_file_id = $1 AND g.by_file_id <> $1
               AND g.kode_pesanan = l.kode_pesanan",
            "UPDATE import_replaced_orders AS o SET by_file_id = g.by_file_id
             FROM import_replaced_orders g
             WHERE o.by_file_id = $1 AND g.import_file_id = $1 AND g.by_file_id <> $1
               AND g.kode_pesanan = o.kode_pesanan",
            "DELETE FROM import_replaced_lines WHERE import_file_id = $1 AND by_file_id <> $1",
            "DELETE FROM import_replaced_orders WHERE import_file_id = $1 AND by_file_id <> $1",
        ];
        for sql in statements {
            self.pg.exec(sqlx::query(sql).bind(failed))?;
        }
        Ok(())
    }

    /// Hands every order that files wait on from `owner` (one key at a
    /// time, so memory stays flat whatever their number).
    pub(super) fn hand_over_all(&mut self, owner: i64) -> Result<()> {
        loop {
            let key = self.pg.optional(
                sqlx::query(
                    "SELECT kode_pesanan FROM import_waiting_rows WHERE owner_file_id = $1 LIMIT 1",
                )
                .bind(owner),
            )?;
            match key {
                Some(key) => self.hand_over(owner, &key.try_get::<String, _>(0)?)?,
                None => return Ok(()),
            }
        }
    }

    /// File `owner` has ended (failed and rolled back, or, under `update`,
    /// imported): the first file that met order `key` while `owner` was
    /// read takes it over with its own rows (the order from its first row,
    /// all its lines), which count as imported instead of duplicate. The
    /// other files now wait on the new owner while it is being read; once
    /// it is finished they are its duplicates (`skip`) or replace it in
    /// turn (`update`). Every row waiting on (`owner`, `key`) is gone on
    /// return.
    fn hand_over(&mut self, owner: i64, key: &str) -> Result<()> {
        let c = columns();
        let mut owner = owner;
        loop {
            let first = self.pg.optional(
                sqlx::query(
                    "SELECT file_id, id FROM import_waiting_rows
                     WHERE owner_file_id = $1 AND kode_pesanan = $2 ORDER BY id LIMIT 1",
                )
                .bind(owner)
                .bind(key),
            )?;
            let Some(first) = first else {
                return Ok(());
            };
            let (taker, first_row): (i64, i64) = (first.try_get(0)?, first.try_get(1)?);
            let taker_unfinished = self.unfinished(taker)?;
            let current: Option<i64> = self
                .pg
                .optional(
                    sqlx::query(
                        "SELECT import_file_id FROM dropship_purchases WHERE kode_pesanan = $1",
                    )
                    .bind(key),
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let updated = match (current, self.opts.on_duplicate) {
                (None, _) => false,
                // The rollback put back an order of another file: the
                // waiting rows are that file's duplicates.
                (Some(holder), OnDuplicate::Skip) => {
                    self.retag_waiting(owner, key, holder)?;
                    if !self.unfinished(holder)? {
                        self.drop_waiting(holder, key)?;
                    }
                    return Ok(());
                }
                (Some(_), OnDuplicate::Update) => {
                    self.replace_order(taker_unfinished.then_some(taker), key)?;
                    true
                }
            };
            self.pg.exec(
                sqlx::query(&format!(
                    "INSERT INTO dropship_purchases ({}) SELECT {} FROM import_waiting_rows
                     WHERE id = $1",
                    c.order, c.order_from_waiting
                ))
                .bind(first_row),
            )?;
            // The rows may have been read (and counted) by several runs,
            // when the taker was resumed after a kill.
            let by_run: Vec<(i64, u64)> = self
                .pg
                .all(
                    sqlx::query(
                        "SELECT run_id, count(*) FROM import_waiting_rows
                         WHERE owner_file_id = $1 AND kode_pesanan = $2 AND file_id = $3
                         GROUP BY run_id",
                    )
                    .bind(owner)
                    .bind(key)
                    .bind(taker),
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u64)))
                .collect::<Result<_>>()?;
            self.pg.exec(
                sqlx::query(&format!(
                    "INSERT INTO dropship_purchase_details ({}) SELECT {} FROM import_waiting_rows
                     WHERE owner_file_id = $1 AND kode_pesanan = $2 AND file_id = $3 ORDER BY id",
                    c.line, c.line_from_waiting
                ))
                .bind(owner)
                .bind(key)
                .bind(taker),
            )?;
            self.pg.exec(
                sqlx::query(
                    "DELETE FROM import_waiting_rows
                     WHERE owner_file_id = $1 AND kode_pesanan = $2 AND file_id = $3",
                )
                .bind(owner)
                .bind(key)
                .bind(taker),
            )?;
            self.took_over(taker, key, &by_run, updated)?;
            self.retag_waiting(owner, key, taker)?;
            if taker_unfinished {
                return Ok(());
            }
            match self.opts.on_duplicate {
                OnDuplicate::Skip => return self.drop_waiting(taker, key),
                OnDuplicate::Update => owner = taker,
            }
        }
    }

    /// The rows waiting on order `key` of file `from` now wait on file `to`.
    fn retag_waiting(&mut self, from: i64, key: &str, to: i64) -> Result<()> {
        self.pg.exec(
            sqlx::query(
                "UPDATE import_waiting_rows SET owner_file_id = $3
                 WHERE owner_file_id = $1 AND kode_pesanan = $2",
            )
            .bind(from)
            .bind(key)
            .bind(to),
        )?;
        Ok(())
    }

    /// Forgets the rows waiting on order `key` of a finished file: they stay
    /// its duplicates.
    fn drop_waiting(&mut self, owner: i64, key: &str) -> Result<()> {
        self.pg.exec(
            sqlx::query(
                "DELETE FROM import_waiting_rows WHERE owner_file_id = $1 AND kode_pesanan = $2",
            )
            .bind(owner)
            .bind(key),
        )?;
        Ok(())
    }

    /// File `taker` took order `key` over with rows it had counted as
    /// duplicates, `by_run` (the run that read them, how many): they are
    /// imported now, in `import_files` and in the totals of the run that
    /// counted them (this run's summary, or an earlier run's row), and the
    /// order is created (or updated, when it replaced another file's
    /// version) instead of duplicate in the newest of those runs.
    fn took_over(
        &mut self,
        taker: i64,
        key: &str,
        by_run: &[(i64, u64)],
        updated: bool,
    ) -> Result<()> {
        // This run's counts of a file it still reads are written as they
        // change (see `Writer::send`); the rest is changed here.
        let own = (self.files.iter()).position(|f| f.id == Some(taker) && !f.lost);
        let newest = by_run.iter().map(|&(run, _)| run).max();
        for &(run, n) in by_run {
            let order = (Some(run) == newest).then_some(updated);
            if let (Some(file), true) = (own, Some(run) == self.run_id) {
                let state = &mut self.files[file];
                let counted = state.duplicate_orders.remove(key);
                state.outcome.took_over(n, counted, order);
                continue;
            }
            self.pg.exec(
                sqlx::query(
                    "UPDATE import_files SET rows_imported = rows_imported + $2,
                     rows_duplicate = greatest(rows_duplicate - $2, 0) WHERE id = $1",
                )
                .bind(taker)
                .bind(int(n)),
            )?;
            self.pg.exec(
                sqlx::query(
                    "UPDATE import_file_runs SET rows_imported = rows_imported + $3,
                     rows_duplicate = greatest(rows_duplicate - $3, 0)
                     WHERE file_id = $1 AND run_id = $2",
                )
                .bind(taker)
                .bind(run)
                .bind(int(n)),
            )?;
            if let Some(file) = own {
                let earlier = &mut self.files[file].earlier;
                earlier.imported += n;
                earlier.duplicate = earlier.duplicate.saturating_sub(n);
            }
            if order.is_some() {
                self.pg.exec(
                    sqlx::query(
                        "UPDATE import_file_runs SET orders_created = orders_created + $3,
                         orders_updated = orders_updated + $4,
                         orders_duplicate = greatest(orders_duplicate - 1, 0)
                         WHERE file_id = $1 AND run_id = $2",
                    )
                    .bind(taker)
                    .bind(run)
                    .bind(i64::from(order == Some(false)))
                    .bind(i64::from(order == Some(true))),
                )?;
            }
            self.recount_run(run, n, order)?;
        }
        Ok(())
    }

    /// Moves `rows` duplicates of an earlier run to imported in its totals,
    /// when that run counted them; with `order` (updated or created), the
    /// order they make moves from duplicate there too.
    fn recount_run(&mut self, run: i64, rows: u64, order: Option<bool>) -> Result<()> {
        self.pg.exec(
            sqlx::query(
                "UPDATE import_runs SET rows_imported = rows_imported + $2,
                 rows_duplicate = rows_duplicate - $2, orders_created = orders_created + $3,
                 orders_updated = orders_updated + $4,
                 orders_duplicate = greatest(orders_duplicate - $5, 0)
                 WHERE id = $1 AND rows_duplicate >= $2",
            )
            .bind(run)
            .bind(int(rows))
            .bind(i64::from(order == Some(false)))
            .bind(i64::from(order == Some(true)))
            .bind(i64::from(order.is_some())),
        )?;
        Ok(())
    }

    fn forget_replaced(&mut self, file_id: i64) -> Result<()> {
        for sql in [
            "DELETE FROM import_replaced_orders WHERE by_file_id = $1",
            "DELETE FROM import_replaced_lines WHERE by_file_id = $1",
        ] {
            self.pg.exec(sqlx::query(sql).bind(file_id))?;
        }
        Ok(())
    }
}
