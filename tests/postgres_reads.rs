//! `status` and `recommend` against PostgreSQL: runs recorded in a schema
//! (written here by SQL, as an import would) are listed and shown as from
//! SQLite; a run is live while its import's advisory lock is held; a missing
//! schema holds nothing yet; a password never shows.
//!
//! The server is `DROPSHIP_TEST_PG` (an admin URL), else
//! `postgres://root@127.0.0.1:5432/test`; when that one does not answer the
//! tests are skipped (said on stderr), but when `DROPSHIP_TEST_PG` is set
//! and its server does not answer they fail. Each test makes its own
//! schema and drops it.

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tempfile::TempDir;
use tokio::runtime::Runtime;

const DEFAULT_PG: &str = "postgres://root@127.0.0.1:5432/test";

/// A schema of the test server, dropped at the end.
struct Pg {
    url: String,
    schema: String,
    rt: Runtime,
    conn: PgConnection,
    dir: TempDir,
}

impl Pg {
    /// `None` (the skip said on stderr) when no server answers and
    /// `DROPSHIP_TEST_PG` is unset.
    fn new(test: &str) -> Option<Pg> {
        let set = std::env::var("DROPSHIP_TEST_PG").ok();
        let url = set.clone().unwrap_or_else(|| DEFAULT_PG.to_string());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url)).await
        });
        let conn = match (conn, &set) {
            (Ok(Ok(conn)), _) => conn,
            (Ok(Err(e)), Some(_)) => panic!("DROPSHIP_TEST_PG={url}: {e}"),
            (Err(_), Some(_)) => panic!("DROPSHIP_TEST_PG={url}: no answer"),
            (_, None) => {
                let _ = std::io::stderr().write_all(
                    format!(
                        "skipped {test}: no PostgreSQL at {url}; \
                         set DROPSHIP_TEST_PG=postgres://USER@HOST:PORT/DB to run it\n"
                    )
                    .as_bytes(),
                );
                return None;
            }
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let schema = format!(
            "pgreads_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut pg = Pg {
            url,
            schema,
            rt,
            conn,
            dir: tempfile::tempdir().unwrap(),
        };
        pg.sql(&format!(
            "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
            pg.schema
        ));
        Some(pg)
    }

    /// Runs `sql` (several statements) in the test's schema.
    fn sql(&mut self, sql: &str) {
        let all = format!("SET search_path TO {}; {sql}", self.schema);
        self.rt
            .block_on(self.conn.execute(all.as_str()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The tool's tables, made by its own migration.
    fn tables(&self) {
        use dropship_import::store::postgres::{Pg, connect::Target, schema};
        let target = Target::parse(&self.url).expect("the test server's URL");
        let mut pg = Pg::connect(&target).expect("connect for the migration");
        schema::migrate(&mut pg, &self.schema).expect("the tool's tables");
    }

    /// The tool's tables, and three runs: 1 `ok`, 2 `partial` on
    /// another host, 3 `running` with a file half-way.
    fn three_runs(&mut self) {
        self.tables();
        self.sql(
            "INSERT INTO import_runs (started_at, finished_at, state, pid, host, version,
                 options, files_total, files_imported, rows_read, rows_imported,
                 orders_created, elapsed_ms, peak_rss_bytes, rows_per_sec, bytes_per_sec)
             VALUES ('2025-01-01T10:00:00Z', '2025-01-01T10:00:02Z', 'ok', 4242, 'alpha',
                 '0.1.0', '{\"jobs\": 2, \"chunk_size\": 1000, \"inputs\": [\"a.csv\"]}',
                 2, 2, 20000, 20000, 20000, 2000, 30000000, 10000, 3000000);
             INSERT INTO import_runs (started_at, finished_at, state, pid, host, version,
                 options, files_total, files_imported, files_failed, rows_read,
                 rows_imported, rows_rejected, elapsed_ms, peak_rss_bytes, rows_per_sec,
                 bytes_per_sec)
             VALUES ('2025-01-02T10:00:00Z', '2025-01-02T10:00:04Z', 'partial', 4343, 'beta',
                 '0.1.0', '{\"jobs\": 2, \"chunk_size\": 1000}', 2, 1, 1, 30000, 29999, 1,
                 4000, 40000000, 7500, 2000000);
             INSERT INTO import_runs (started_at, state, pid, host, version, options,
                 files_total)
             VALUES ('2025-01-03T10:00:00Z', 'running', 4444, 'gamma', '0.1.0', '{}', 3);
             INSERT INTO import_files (run_id, path, size_bytes, content_hash, state,
                 rows_read, rows_imported, bytes_committed, rows_committed, started_at,
                 finished_at)
             VALUES (1, 'a.csv', 1000000, 'h1', 'imported', 10000, 10000, 1000000, 10000,
                     '2025-01-01T10:00:00Z', '2025-01-01T10:00:01Z'),
                    (1, 'b.csv', 1000000, 'h2', 'imported', 10000, 10000, 1000000, 10000,
                     '2025-01-01T10:00:01Z', '2025-01-01T10:00:02Z'),
                    (3, 'c.csv', 2000, 'h3', 'in_progress', 5, 5, 1000, 5,
                     '2025-01-03T10:00:00Z', NULL);",
        );
    }

    /// Runs `dropship-import ARGS --db URL --schema SCHEMA`.
    fn run(&self, args: &[&str]) -> Out {
        self.run_at(&self.url, &self.schema, args)
    }

    fn run_at(&self, db: &str, schema: &str, args: &[&str]) -> Out {
        let mut all = args.to_vec();
        all.extend(["--db", db, "--schema", schema]);
        self.run_plain(&all)
    }

    /// Runs `dropship-import ARGS` in the test's folder.
    fn run_plain(&self, args: &[&str]) -> Out {
        let out = assert_cmd::Command::cargo_bin("dropship-import")
            .unwrap()
            .current_dir(self.dir.path())
            .args(args)
            .env_remove("DROPSHIP_DB")
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        let _ = self.rt.block_on(self.conn.execute(drop.as_str()));
    }
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Out {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// The URL with a password put in after the user.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{scheme}://{user}:{password}@{host}")
        }
        None => format!("{scheme}://root:{password}@{rest}"),
    }
}

#[test]
fn lists_the_runs_of_every_host() {
    let Some(mut pg) = Pg::new("lists_the_runs_of_every_host") else {
        return;
    };
    pg.three_runs();
    let out = pg.run(&["status"]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].contains("HOST"), "{}", out.stdout);
    let fields = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    let first = |l: &str| fields(l)[0].clone();
    let last = |l: &str| fields(l).last().unwrap().clone();
    assert_eq!(
        (first(lines[1]), last(lines[1])),
        ("3".into(), "interrupted".into()),
        "no import holds the lock: {}",
        out.stdout
    );
    assert_eq!(
        (first(lines[2]), last(lines[2])),
        ("2".into(), "partial".into())
    );
    assert_eq!((first(lines[3]), last(lines[3])), ("1".into(), "ok".into()));
    assert!(
        lines[3].contains("alpha") && lines[2].contains("beta"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("partial files left by killed runs")
            && out.stdout.contains("c.csv: run 3, 5 rows committed"),
        "{}",
        out.stdout
    );

    let out = pg.run(&["status", "--json"]);
    out.expect_code(0);
    let runs = out.json();
    assert_eq!(runs.as_array().unwrap().len(), 3);
    let ok = &runs[2];
    assert_eq!(ok["id"], 1);
    assert_eq!(ok["host"], "alpha");
    assert_eq!(ok["state"], "ok");
    assert_eq!(ok["started_at"], "2025-01-01T10:00:00Z");
    assert_eq!(ok["finished_at"], "2025-01-01T10:00:02Z");
    assert_eq!(ok["files"]["imported"], 2);
    assert_eq!(ok["rows"]["imported"], 20000);
    assert_eq!(ok["peak_rss_bytes"], 30000000);
    assert_eq!(runs[1]["rows"]["rejected"], 1);
    assert_eq!(runs[0]["state"], "interrupted");

    let out = pg.run(&["status", "--limit", "1", "--json"]);
    assert_eq!(out.expect_code(0).json().as_array().unwrap().len(), 1);
}

#[test]
fn one_run_with_its_files() {
    let Some(mut pg) = Pg::new("one_run_with_its_files") else {
        return;
    };
    pg.three_runs();
    let out = pg.run(&["status", "1"]);
    out.expect_code(0);
    assert!(out.stdout.starts_with("run 1: ok"), "{}", out.stdout);
    assert!(out.stdout.contains("pid 4242 on alpha"), "{}", out.stdout);
    assert!(out.stdout.contains("a.csv") && out.stdout.contains("b.csv"));
    assert!(
        out.stdout.contains("jobs 2, chunk_size 1000"),
        "{}",
        out.stdout
    );

    let out = pg.run(&["status", "1", "--json"]);
    let d = out.expect_code(0).json();
    assert_eq!(d["run"]["id"], 1);
    assert_eq!(d["run"]["host"], "alpha");
    assert_eq!(d["run"]["pid"], 4242);
    assert_eq!(d["run"]["options"]["jobs"], 2);
    assert_eq!(d["files"].as_array().unwrap().len(), 2);
    assert_eq!(d["files"][0]["path"], "a.csv");
    assert_eq!(d["files"][0]["state"], "imported");
    assert_eq!(d["files"][1]["started_at"], "2025-01-01T10:00:01Z");
    assert_eq!(d["progress"], Value::Null);

    let out = pg.run(&["status", "3", "--json"]);
    let d = out.expect_code(0).json();
    assert_eq!(d["run"]["state"], "interrupted");
    assert_eq!(d["files"][0]["state"], "interrupted");

    let out = pg.run(&["status", "99"]);
    out.expect_code(1);
    let shown = format!("no run 99 in {}, schema {}", pg.url, pg.schema);
    assert!(out.stderr.contains(&shown), "{}", out.stderr);
}

/// A `running` run is live while its session is connected and its lease
/// runs (run 3 is given this test's session and a lease).
#[test]
fn a_running_run_is_live_while_its_session_and_lease_last() {
    let Some(mut pg) = Pg::new("a_running_run_is_live_while_its_session_and_lease_last") else {
        return;
    };
    pg.three_runs();
    pg.sql(
        "UPDATE import_runs SET backend_pid = pg_backend_pid(),
             backend_start = (SELECT backend_start FROM pg_stat_activity
                              WHERE pid = pg_backend_pid()),
             lease_until = clock_timestamp() + interval '1 hour'
         WHERE id = 3",
    );
    let out = pg.run(&["status", "3", "--json"]);
    let d = out.expect_code(0).json();
    assert_eq!(d["run"]["state"], "running", "{}", out.stdout);
    assert_eq!(d["files"][0]["state"], "in_progress");
    assert_eq!(d["files"][0]["progress_percent"], 50.0);
    assert_eq!(d["progress"]["files_not_started"], 2);
    assert_eq!(
        d["run"]["peak_rss_bytes"],
        Value::Null,
        "not this machine's"
    );
    // Its partial file is its own, not a killed run's.
    let out = pg.run(&["status"]);
    out.expect_code(0);
    assert!(!out.stdout.contains("partial files left"), "{}", out.stdout);

    // A lease that lapsed: no longer live, though its session is.
    pg.sql("UPDATE import_runs SET lease_until = clock_timestamp() - interval '1 s' WHERE id = 3");
    let d = pg.run(&["status", "3", "--json"]).expect_code(0).json();
    assert_eq!(d["run"]["state"], "interrupted");

    // A lease that runs, but from a session that is gone.
    pg.sql(
        "UPDATE import_runs SET lease_until = clock_timestamp() + interval '1 hour',
             backend_pid = 0 WHERE id = 3",
    );
    let d = pg.run(&["status", "3", "--json"]).expect_code(0).json();
    assert_eq!(d["run"]["state"], "interrupted");
}

#[test]
fn recommend_learns_from_the_runs_in_the_schema() {
    let Some(mut pg) = Pg::new("recommend_learns_from_the_runs_in_the_schema") else {
        return;
    };
    pg.three_runs();
    let args = ["recommend", "--file-count", "10", "--avg-file-size", "1MB"];
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let r = pg.run(&json_args).expect_code(0).json();
    assert_eq!(r["source"], "history");
    assert_eq!(r["history_runs"], 2);
    assert_eq!(
        r["throughput"]["rows_per_sec"], 8750,
        "median of 10000 and 7500"
    );
    let out = pg.run(&args);
    out.expect_code(0);
    let shown = format!("from 2 earlier runs in {}, schema {}", pg.url, pg.schema);
    assert!(out.stdout.contains(&shown), "{}", out.stdout);

    // A schema with nothing in it: the built-in figures.
    let r = pg
        .run_at(&pg.url, &format!("{}_none", pg.schema), &json_args)
        .expect_code(0)
        .json();
    assert_eq!(r["source"], "built_in");
}

#[test]
fn a_missing_schema_holds_nothing_yet() {
    let Some(pg) = Pg::new("a_missing_schema_holds_nothing_yet") else {
        return;
    };
    let missing = format!("{}_none", pg.schema);
    for args in [&["status"][..], &["status", "--json"], &["status", "2"]] {
        let out = pg.run_at(&pg.url, &missing, args);
        out.expect_code(1);
        assert!(
            out.stderr.contains(&format!(
                "no import history in {}, schema {missing} (nothing imported yet",
                pg.url
            )),
            "{}",
            out.stderr
        );
    }
    // The schema exists but holds no tables of the tool: the same.
    let out = pg.run(&["status"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("nothing imported yet"),
        "{}",
        out.stderr
    );
    // Nothing was created.
    let out = pg.run_at(&pg.url, &missing, &["status"]);
    out.expect_code(1);
}

#[test]
fn tables_the_tool_did_not_make_are_named() {
    let Some(mut pg) = Pg::new("tables_the_tool_did_not_make_are_named") else {
        return;
    };
    pg.sql("CREATE TABLE import_runs (id int); CREATE TABLE import_files (id int)");
    let out = pg.run(&["status"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("is not a dropship-import database"),
        "{}",
        out.stderr
    );
    pg.run(&["recommend", "--file-count", "1", "--avg-file-size", "1MB"])
        .expect_code(1);
}

#[test]
fn a_password_never_shows() {
    let Some(mut pg) = Pg::new("a_password_never_shows") else {
        return;
    };
    pg.three_runs();
    let secret = "s3cr3t-pw";
    let url = with_password(&pg.url, secret);
    let schema = pg.schema.clone();
    let runs: [&[&str]; 5] = [
        &["status"],
        &["status", "1"],
        &["status", "99"],
        &["recommend", "--file-count", "1", "--avg-file-size", "1MB"],
        &["status", "--follow", "1"],
    ];
    for args in runs {
        let out = pg.run_at(&url, &schema, args);
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{args:?}: {out:?}"
        );
    }
    // A server that does not answer: the error names it, without the password.
    let out = pg.run_at(
        &format!("postgres://root:{secret}@127.0.0.1:1/test"),
        &schema,
        &["status"],
    );
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("cannot open postgres://root@127.0.0.1:1/test"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
}

#[test]
fn a_key_value_connection_string_works_too() {
    let Some(mut pg) = Pg::new("a_key_value_connection_string_works_too") else {
        return;
    };
    pg.three_runs();
    let url = url_to_key_values(&pg.url);
    let out = pg.run_at(&url, &pg.schema, &["status", "--json"]);
    assert_eq!(out.expect_code(0).json().as_array().unwrap().len(), 3);
}

#[test]
fn the_database_and_schema_come_from_the_config() {
    let Some(mut pg) = Pg::new("the_database_and_schema_come_from_the_config") else {
        return;
    };
    pg.three_runs();
    let config = format!(
        "[database]\nurl = \"{}\"\nschema = \"{}\"\n",
        pg.url, pg.schema
    );
    std::fs::write(pg.dir.path().join("importer.toml"), config).unwrap();
    let out = pg.run_plain(&["status", "--json"]);
    assert_eq!(out.expect_code(0).json().as_array().unwrap().len(), 3);
    let r = pg
        .run_plain(&[
            "recommend",
            "--file-count",
            "1",
            "--avg-file-size",
            "1MB",
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(r["history_runs"], 2);
    // --schema wins over the config.
    let out = pg.run_plain(&["status", "--schema", "pgreads_no_such_schema"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("nothing imported yet"),
        "{}",
        out.stderr
    );
}

/// `postgres://user@host:port/db` → `host=host port=port dbname=db user=user`.
fn url_to_key_values(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let (auth, db) = rest.split_once('/').unwrap();
    let db = db.split('?').next().unwrap();
    let (user, hostport) = auth.rsplit_once('@').unwrap_or(("", auth));
    let user = user.split(':').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    let mut kv = format!("host={host} port={port} dbname={db}");
    if !user.is_empty() {
        kv.push_str(&format!(" user={user}"));
    }
    kv
}

/// SPEC: each row is counted in the run that committed it. A file run 4
/// left part-way and run 5 resumed and imported is shown, as the writers
/// record it, in run 4 as interrupted with the rows run 4 committed and
/// the line it stopped at, and in run 5 with only its own rows and the line
/// it resumed at (the file's entry sums both).
#[test]
fn a_resumed_file_is_shown_in_each_run_with_that_runs_rows() {
    let Some(mut pg) = Pg::new("a_resumed_file_is_shown_in_each_run_with_that_runs_rows") else {
        return;
    };
    pg.tables();
    pg.sql(
        "INSERT INTO import_runs (id, started_at, finished_at, state, pid, host, version,
             options, files_total, rows_read, rows_imported, planned_files, planned_bytes)
         OVERRIDING SYSTEM VALUE
         VALUES (4, '2025-01-04T10:00:00Z', NULL, 'interrupted', 1, 'alpha', '0.1.0', '{}',
                 1, 300, 300, 1, 10000),
                (5, '2025-01-05T10:00:00Z', '2025-01-05T10:00:09Z', 'ok', 2, 'alpha',
                 '0.1.0', '{}', 1, 700, 700, 1, 10000);
         INSERT INTO import_files (run_id, path, size_bytes, content_hash, state,
             rows_read, rows_imported, bytes_committed, rows_committed, line_committed,
             started_at, finished_at)
         VALUES (5, 'd.csv', 10000, 'h4', 'imported', 1000, 1000, 10000, 1000, 1001,
                 '2025-01-04T10:00:00Z', '2025-01-05T10:00:09Z');
         INSERT INTO import_file_runs (file_id, run_id, rows_read, rows_imported,
             rows_rejected, rows_duplicate, rows_filtered, bytes_from, line_from,
             bytes_committed, rows_committed, line_committed)
         SELECT id, 4, 300, 300, 0, 0, 0, 0, NULL, 3000, 300, 301 FROM import_files
         UNION ALL
         SELECT id, 5, 700, 700, 0, 0, 0, 3000, 301, 10000, 1000, 1001 FROM import_files;",
    );
    let killed = pg.run(&["status", "4", "--json"]).expect_code(0).json();
    let f = &killed["files"][0];
    assert_eq!(killed["files"].as_array().unwrap().len(), 1, "{killed}");
    assert_eq!(f["path"], "d.csv");
    assert_eq!(f["state"], "interrupted");
    assert_eq!(f["rows"]["read"], 300);
    assert_eq!(f["rows"]["imported"], 300);
    assert_eq!(f["bytes_committed"], 3000);
    assert_eq!(f["stopped_at_line"], 301);
    assert_eq!(f["resumed_by_run"], 5);
    assert_eq!(killed["run"]["planned_bytes"], 10000);

    let resumed = pg.run(&["status", "5", "--json"]).expect_code(0).json();
    let f = &resumed["files"][0];
    assert_eq!(f["state"], "imported");
    assert_eq!(f["rows"]["read"], 700);
    assert_eq!(f["resumed_from_line"], 301);
    assert_eq!(f["stopped_at_line"], Value::Null);

    let text = pg.run(&["status", "4"]);
    assert!(
        text.expect_code(0)
            .stdout
            .contains("stopped at line 301, resumed by run 5"),
        "{}",
        text.stdout
    );
    let text = pg.run(&["status", "5"]);
    assert!(
        text.expect_code(0).stdout.contains("resumed at line 301"),
        "{}",
        text.stdout
    );
}
