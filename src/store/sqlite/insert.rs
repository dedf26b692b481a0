//! A prepared INSERT that binds text in place.
//!
//! rusqlite binds every string as `SQLITE_TRANSIENT`, so SQLite copies each
//! value into memory of its own before building the record, and frees it on
//! the next bind: for the writer that is two allocations and two copies per
//! text field, some twenty per row. `Insert` binds as `SQLITE_STATIC`
//! instead, pointing SQLite at the caller's own text. The values must live
//! as long as the statement (`'a` covers both), and each run binds every
//! parameter, so no run reads a value of an earlier one.

use crate::rows::Value;
use rusqlite::{Connection, ffi};
use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// One prepared statement of the connection it borrows, finalized on drop,
/// whose text parameters point into values that live for `'a`.
pub struct Insert<'a> {
    db: *mut ffi::sqlite3,
    stmt: NonNull<ffi::sqlite3_stmt>,
    params: usize,
    _borrows: PhantomData<(&'a Connection, Value<'a>)>,
}

impl<'a> Insert<'a> {
    pub fn prepare(conn: &'a Connection, sql: &str) -> rusqlite::Result<Insert<'a>> {
        // SAFETY: the handle is used only while `conn` is borrowed, on the
        // thread that owns it; the statement is finalized before the borrow ends.
        let db = unsafe { conn.handle() };
        let mut stmt = ptr::null_mut();
        let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
        // SAFETY: `sql` is valid for `len` bytes; `stmt` receives the result.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast(), len, &mut stmt, ptr::null_mut())
        };
        if rc != ffi::SQLITE_OK {
            return Err(error(db, rc));
        }
        let stmt = NonNull::new(stmt).ok_or(rusqlite::Error::InvalidQuery)?;
        // SAFETY: the statement is live.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) } as usize;
        Ok(Insert {
            db,
            stmt,
            params,
            _borrows: PhantomData,
        })
    }

    /// Binds `values` to the parameters in order, runs the statement once and
    /// returns the number of rows it changed. There must be exactly one value
    /// per parameter.
    pub fn execute(
        &mut self,
        values: impl IntoIterator<Item = Value<'a>>,
    ) -> rusqlite::Result<u64> {
        let stmt = self.stmt.as_ptr();
        let mut bound = 0;
        for value in values {
            bound += 1;
            if bound > self.params {
                break;
            }
            let n = bound as c_int;
            // SAFETY: `stmt` is live; a text binding points into a value that
            // lives as long as the statement.
            let rc = unsafe {
                match value {
                    Value::Null => ffi::sqlite3_bind_null(stmt, n),
                    Value::Int(v) => ffi::sqlite3_bind_int64(stmt, n, v),
                    Value::Text(s) => ffi::sqlite3_bind_text64(
                        stmt,
                        n,
                        s.as_ptr().cast(),
                        s.len() as u64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(error(self.db, rc));
            }
        }
        if bound != self.params {
            return Err(rusqlite::Error::InvalidParameterCount(bound, self.params));
        }
        // SAFETY: the statement is live and every parameter is bound.
        unsafe {
            let rc = ffi::sqlite3_step(stmt);
            let outcome = match rc {
                ffi::SQLITE_DONE => Ok(ffi::sqlite3_changes64(self.db) as u64),
                _ => Err(error(self.db, rc)),
            };
            ffi::sqlite3_reset(stmt);
            outcome
        }
    }
}

impl Drop for Insert<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and dropped once.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

/// The error for result code `rc`, with the connection's message.
fn error(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Error {
    // SAFETY: the connection is live; its message is copied at once.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db);
        (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, o TEXT NOT NULL)")
            .unwrap();
        conn
    }

    #[test]
    fn binds_text_int_and_null_in_place_and_counts_changes() {
        let conn = table();
        // The values must outlive the statement: declared first.
        let owned = String::from("héllo");
        let rows = [
            [Value::Text("a"), Value::Int(-7), Value::Text(&owned)],
            [Value::Text("b"), Value::Null, Value::Text("")],
            [Value::Text("a"), Value::Int(1), Value::Text("again")],
        ];
        let mut insert =
            Insert::prepare(&conn, "INSERT OR IGNORE INTO t VALUES (?1, ?2, ?3)").unwrap();
        let changed: Vec<u64> = rows
            .iter()
            .map(|row| insert.execute(row.iter().copied()).unwrap())
            .collect();
        assert_eq!(changed, [1, 1, 0]);
        drop(insert);
        let stored: Vec<(String, Option<i64>, String)> = conn
            .prepare("SELECT k, n, o FROM t ORDER BY k")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            stored,
            [
                ("a".into(), Some(-7), "héllo".into()),
                ("b".into(), None, String::new())
            ]
        );
    }

    #[test]
    fn refuses_a_wrong_number_of_values_and_reports_sqlite_errors() {
        let conn = table();
        let mut insert = Insert::prepare(&conn, "INSERT INTO t VALUES (?1, ?2, ?3)").unwrap();
        let short = insert.execute([Value::Text("a"), Value::Int(1)]);
        assert!(
            matches!(short, Err(rusqlite::Error::InvalidParameterCount(2, 3))),
            "{short:?}"
        );
        let long = insert.execute([Value::Text("a"), Value::Int(1), Value::Null, Value::Null]);
        assert!(
            matches!(long, Err(rusqlite::Error::InvalidParameterCount(4, 3))),
            "{long:?}"
        );
        let null = insert.execute([Value::Text("a"), Value::Int(1), Value::Null]);
        match null {
            Err(rusqlite::Error::SqliteFailure(e, Some(message))) => {
                assert_eq!(e.code, rusqlite::ErrorCode::ConstraintViolation);
                assert!(message.contains("t.o"), "{message}");
            }
            other => panic!("expected a NOT NULL failure, got {other:?}"),
        }
        // The statement is usable after a failure.
        assert_eq!(
            insert
                .execute([Value::Text("a"), Value::Int(1), Value::Text("x")])
                .unwrap(),
            1
        );
        assert!(Insert::prepare(&conn, "INSERT INTO nowhere VALUES (1)").is_err());
    }
}
