//! Integration tests of the reader's limits and hints: records longer than
//! `max_record_size`, `max_file_size` counted after decompression, memory
//! bounded on any input, read errors in `.csv.gz` naming their line, and
//! UTF-16 files named as such. Each test runs the real binary in a fresh
//! temporary folder and reads the database back.

mod common;

use common::{Csv, Env, Run, csv, gzip, line};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// Few enough that a reject or an error quoting it cannot hold a long record.
const SHOWN_AT_MOST: usize = 600;

fn run(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["--progress", "none"];
    all.extend_from_slice(args);
    env.run(&all)
}

fn peak_rss(run: &Run) -> u64 {
    run.n("/memory/peak_rss_bytes")
}

fn error_of<'a>(run: &'a Run, name: &str) -> &'a str {
    run.file(name)["error"].as_str().unwrap_or("")
}

#[test]
fn a_record_longer_than_max_record_size_is_rejected_and_the_rest_goes_on() {
    let env = Env::new();
    // 3 MB in one quoted field that also holds two line breaks.
    let long = format!(
        "{}\n{}\n{}",
        "x".repeat(MIB as usize),
        "y".repeat(MIB as usize),
        "z".repeat(MIB as usize)
    );
    let text = Csv::new(&[
        line("DS-1"),
        line("DS-LONG").set("Nama Produk", &long),
        line("DS-2"),
    ])
    .render();
    env.write("a.csv", text);
    let r = run(&env, &["a.csv"]);
    r.expect_code(3);
    assert_eq!(r.file_rows("a.csv"), [3, 2, 1, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-1", "DS-2"]);
    // The long record spans lines 3 to 5; the next one starts on line 6.
    assert_eq!(env.line_int("DS-2", "source_line"), Some(6));

    let rejects = env.rejects();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    let reject = &rejects[0];
    assert_eq!(reject.reason, "record_too_long");
    assert_eq!(reject.line, 3);
    assert_eq!(reject.column, None);
    assert!(
        reject.message.contains("max_record_size"),
        "{}",
        reject.message
    );
    for held in [
        reject.value.as_deref(),
        reject.raw.as_deref(),
        Some(&reject.message),
    ] {
        let held = held.unwrap_or("");
        assert!(held.len() <= SHOWN_AT_MOST, "{} bytes kept", held.len());
    }
    // It shows how the record starts.
    assert!(
        reject.raw.as_deref().unwrap_or("").contains("DS-LONG"),
        "{reject:?}"
    );
    let shown = &r.file("a.csv")["rejects"][0];
    assert_eq!(shown["reason"], "record_too_long");
    assert!(shown.to_string().len() < 2 * SHOWN_AT_MOST, "{shown}");
}

#[test]
fn max_record_size_is_an_option_and_a_config_key() {
    let env = Env::new();
    let text = Csv::new(&[
        line("DS-1"),
        line("DS-2").set("Nama Produk", &"n".repeat(3000)),
        line("DS-3"),
    ])
    .render();
    env.write("a.csv", &text);
    let r = run(
        &env,
        &["a.csv", "--max-record-size", "2KB", "--db", "flag.db"],
    );
    r.expect_code(3);
    assert_eq!(r.file_rows("a.csv"), [3, 2, 1, 0, 0, 0]);
    let reason: String = env
        .db_at("flag.db")
        .query_row("SELECT reason FROM import_rejects", [], |row| row.get(0))
        .unwrap();
    assert_eq!(reason, "record_too_long");

    env.write(
        "small.toml",
        "[streaming_import]\nmax_record_size = \"2 KiB\"\n",
    );
    let r = run(&env, &["a.csv", "-c", "small.toml", "--db", "config.db"]);
    r.expect_code(3);
    assert_eq!(r.file_rows("a.csv"), [3, 2, 1, 0, 0, 0]);

    env.write("big.toml", "[streaming_import]\nmax_record_size = 4096\n");
    let r = run(&env, &["a.csv", "-c", "big.toml", "--db", "big.db"]);
    r.expect_code(0);
    assert_eq!(r.file_rows("a.csv"), [3, 3, 0, 0, 0, 0]);

    for bad in [
        &["--max-record-size", "0"][..],
        &["--max-record-size", "lots"][..],
    ] {
        let mut args = vec!["a.csv", "--db", "bad.db"];
        args.extend_from_slice(bad);
        let r = run(&env, &args);
        r.expect_code(2);
        assert!(
            r.stderr.contains("max_record_size") || r.stderr.contains("max-record-size"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn a_40_mb_line_without_a_newline_is_rejected_within_64_mib() {
    let env = Env::new();
    let mut text = csv(&[line("DS-1")]).into_bytes();
    if !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(line("DS-2").render().as_bytes());
    text.push(b',');
    text.extend(std::iter::repeat_n(b'q', 40_000_000));
    env.write("a.csv", &text);
    let r = run(&env, &["a.csv"]);
    r.expect_code(3);
    assert_eq!(r.file_rows("a.csv"), [2, 1, 1, 0, 0, 0]);
    let rejects = env.rejects();
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        (rejects[0].line, rejects[0].reason.as_str()),
        (3, "record_too_long")
    );
    assert!(rejects[0].raw.as_deref().unwrap_or("").len() <= SHOWN_AT_MOST);
    let peak = peak_rss(&r);
    assert!(peak > 0 && peak < 64 * MIB, "peak RSS {peak} bytes");
    assert!(
        r.stderr.len() < 10_000,
        "{} bytes on stderr",
        r.stderr.len()
    );
}

#[test]
fn a_40_mb_header_line_fails_the_file_with_a_short_message() {
    let env = Env::new();
    // One endless header, and one of endless empty headers.
    env.write("long.csv", vec![b'h'; 40_000_000]);
    env.write("wide.csv", b",".repeat(40_000_000));
    env.write("ok.csv", csv(&[line("DS-1")]));
    // Under max_record_size, but 300 headers of 2 KB each: the missing
    // columns are named, the found ones only shortened.
    let fat: Vec<String> = (0..300)
        .map(|i| format!("{i}{}", "c".repeat(2000)))
        .collect();
    env.write("fat.csv", format!("{}\n1\n", fat.join(",")));
    let r = run(
        &env,
        &["long.csv", "wide.csv", "fat.csv", "ok.csv", "-j", "1"],
    );
    r.expect_code(3);
    for name in ["long.csv", "wide.csv"] {
        assert_eq!(r.file_status(name), "failed");
        let error = error_of(&r, name);
        assert!(error.contains("header"), "{name}: {error}");
        assert!(
            error.len() <= SHOWN_AT_MOST,
            "{name}: {} bytes of error",
            error.len()
        );
    }
    assert_eq!(r.file_status("fat.csv"), "failed");
    let error = error_of(&r, "fat.csv");
    assert!(
        error.contains("missing required column \"Waktu Pesanan Terbuat\""),
        "{error}"
    );
    assert!(error.len() < 4000, "{} bytes of error", error.len());
    assert_eq!(r.file_status("ok.csv"), "imported");
    assert!(
        r.stderr.len() < 10_000,
        "{} bytes on stderr",
        r.stderr.len()
    );
    assert!(
        r.stdout.len() < 20_000,
        "{} bytes on stdout",
        r.stdout.len()
    );
    let peak = peak_rss(&r);
    assert!(peak > 0 && peak < 64 * MIB, "peak RSS {peak} bytes");
}

#[test]
fn many_long_records_just_under_the_limit_stay_within_64_mib() {
    let env = Env::new();
    let fat = "f".repeat(900_000);
    let lines: Vec<_> = (0..60)
        .map(|i| line(&format!("DS-{i:03}")).set("Nama Produk", &fat))
        .collect();
    env.write("fat.csv", csv(&lines));
    let r = run(&env, &["fat.csv", "--chunk-size", "1000"]);
    r.expect_code(0);
    assert_eq!(r.file_rows("fat.csv"), [60, 60, 0, 0, 0, 0]);
    let peak = peak_rss(&r);
    assert!(peak > 0 && peak < 64 * MIB, "peak RSS {peak} bytes");
    let stored: i64 = env.one("SELECT min(length(nama_produk)) FROM dropship_purchase_details");
    assert_eq!(stored, 900_000);
}

#[test]
fn max_file_size_counts_the_bytes_after_decompression() {
    let env = Env::new();
    let lines: Vec<_> = (0..3000).map(|i| line(&format!("DS-{i:05}"))).collect();
    let text = csv(&lines);
    let gz = gzip(text.as_bytes());
    // Small on disk, large once inflated.
    assert!(
        gz.len() < 100_000 && text.len() > 800_000,
        "{} {}",
        gz.len(),
        text.len()
    );
    env.write("big.csv.gz", &gz);
    // The same text as two gzip members, the last one small: only reading
    // tells how large it is.
    let (head, tail) = text.split_at(text.len() - 2000);
    let mut members = gzip(head.as_bytes());
    members.extend(gzip(tail.as_bytes()));
    env.write("members.csv.gz", &members);
    env.write("small.csv", csv(&[line("DS-SMALL")]));
    let r = run(
        &env,
        &[
            "big.csv.gz",
            "members.csv.gz",
            "small.csv",
            "--max-file-size",
            "500KB",
            "--chunk-size",
            "100",
            "--commit-interval",
            "0s",
            "-j",
            "1",
        ],
    );
    r.expect_code(3);
    for name in ["big.csv.gz", "members.csv.gz"] {
        assert_eq!(r.file_status(name), "failed", "{name}");
        let error = error_of(&r, name);
        assert!(error.contains("max_file_size"), "{name}: {error}");
        let [read, imported, rejected, _, _, failed] = r.file_rows(name);
        assert_eq!((imported, rejected, failed), (0, 0, read), "{name}");
    }
    // The two-member file was read up to the limit, in committed chunks,
    // and rolled back.
    let read = r.file_rows("members.csv.gz")[0];
    assert!(read > 100 && read < 3000, "{read}");
    assert_eq!(env.orders(), ["DS-SMALL"]);

    // The same text within the limit imports.
    let r = run(
        &env,
        &[
            "big.csv.gz",
            "members.csv.gz",
            "--max-file-size",
            "1MB",
            "--db",
            "ok.db",
        ],
    );
    r.expect_code(0);
    let [read, imported, _, duplicate, _, _] = r.rows();
    assert_eq!((read, imported + duplicate), (6000, 6000));
    let orders: i64 = env
        .db_at("ok.db")
        .query_row("SELECT count(*) FROM dropship_purchases", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(orders, 3000);
}

#[test]
fn a_bad_gzip_stream_names_the_line_it_broke_on() {
    let env = Env::new();
    let lines: Vec<_> = (0..2000).map(|i| line(&format!("DS-{i:05}"))).collect();
    let gz = gzip(csv(&lines).as_bytes());
    // Cut off in the middle of the compressed stream.
    env.write("cut.csv.gz", &gz[..gz.len() / 2]);
    let r = run(&env, &["cut.csv.gz"]);
    r.expect_code(3);
    assert_eq!(r.file_status("cut.csv.gz"), "failed");
    let error = error_of(&r, "cut.csv.gz");
    let line: u64 = error
        .split("near line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line in {error:?}"));
    assert!(line > 2 && line <= 2001, "{error}");
    assert_eq!(env.count("dropship_purchases"), 0);
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    for unit in units {
        match big_endian {
            true => out.extend_from_slice(&unit.to_be_bytes()),
            false => out.extend_from_slice(&unit.to_le_bytes()),
        }
    }
    out
}

#[test]
fn a_utf16_file_fails_saying_so_and_recommend_warns() {
    let env = Env::new();
    let text = csv(&[line("DS-1"), line("DS-2")]);
    env.write("le.csv", utf16(&text, false, true));
    env.write("be.csv", utf16(&text, true, true));
    env.write("le-no-bom.csv", utf16(&text, false, false));
    env.write("le.csv.gz", gzip(&utf16(&text, false, true)));
    let names = ["le.csv", "be.csv", "le-no-bom.csv", "le.csv.gz"];
    let r = run(&env, &names);
    r.expect_code(3);
    for name in names {
        assert_eq!(r.file_status(name), "failed", "{name}");
        let error = error_of(&r, name);
        assert!(
            error.contains("looks like UTF-16; save it as UTF-8 CSV"),
            "{name}: {error}"
        );
    }

    let out = env
        .cmd()
        .args(["recommend", "le.csv", "be.csv", "--json"])
        .output()
        .unwrap();
    let advice: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let warnings = advice["warnings"].as_array().cloned().unwrap_or_default();
    for name in ["le.csv", "be.csv"] {
        let w = warnings
            .iter()
            .find(|w| w["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("no warning for {name}: {advice}"));
        assert_eq!(w["level"], "error", "{w}");
        assert!(
            w["message"]
                .as_str()
                .unwrap_or("")
                .contains("looks like UTF-16"),
            "{w}"
        );
    }
}

/// A kill -9 mid-file, with many records over the limit (holding quoted
/// line breaks) between the checkpoints, then a rerun: it resumes the same
/// file from its checkpoint and ends with what one uninterrupted run writes.
#[test]
fn a_resumed_file_with_skipped_long_records_ends_as_a_clean_run() {
    let env = Env::new();
    let long = format!("{}\n{}", "L".repeat(1500), "M".repeat(1500));
    let lines: Vec<_> = (0..3000)
        .map(|i| {
            let l = line(&format!("DS-{i:05}"));
            if i % 7 == 3 {
                l.set("Nama Produk", &long)
            } else {
                l
            }
        })
        .collect();
    let text = Csv::new(&lines).crlf().render();
    env.write("a.csv", &text);
    let args = [
        "a.csv",
        "--max-record-size",
        "2KB",
        "--chunk-size",
        "1",
        "--commit-interval",
        "0s",
        "-j",
        "1",
        "--progress",
        "none",
        "-q",
    ];
    let clean = run(
        &env,
        &["a.csv", "--max-record-size", "2KB", "--db", "clean.db"],
    );
    clean.expect_code(3);
    assert_eq!(clean.file_rows("a.csv")[..3], [3000, 2571, 429]);

    let db = env.path("dropship.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dropship-import"))
        .current_dir(env.dir.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let committed = || -> Option<i64> {
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()?;
        conn.query_row(
            "SELECT rows_committed FROM import_files WHERE state = 'in_progress'",
            [],
            |r| r.get(0),
        )
        .ok()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut killed = false;
    while Instant::now() < deadline {
        if committed().is_some_and(|n| n >= 300) {
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            killed = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    assert!(killed, "the run ended before 300 rows were committed");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let at_kill = committed().unwrap_or(0);
    assert!((300..3000).contains(&at_kill), "{at_kill}");

    let rerun = env.run(&args);
    rerun.expect_code(3);
    // Taken over, not started as another file.
    assert_eq!(env.count("import_files"), 1);
    assert_eq!(rerun.file_status("a.csv"), "imported");

    let dump = |conn: &rusqlite::Connection, sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "{:?} {:?} {:?}",
                r.get::<_, rusqlite::types::Value>(0)?,
                r.get::<_, rusqlite::types::Value>(1)?,
                r.get::<_, rusqlite::types::Value>(2)?
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    let clean_db = env.db_at("clean.db");
    let resumed_db = env.db();
    for sql in [
        "SELECT kode_pesanan, source_line, nama_produk FROM dropship_purchase_details ORDER BY kode_pesanan",
        "SELECT line, reason, raw FROM import_rejects ORDER BY line",
        "SELECT kode_pesanan, source_line, total_transaksi_sen FROM dropship_purchases ORDER BY kode_pesanan",
    ] {
        let want = dump(&clean_db, sql);
        let got = dump(&resumed_db, sql);
        assert_eq!(want.len(), got.len(), "{sql}");
        assert!(
            want == got,
            "{sql}: the resumed run differs from the clean one"
        );
    }
}

/// The peak memory in the summary is the importer's own, not that of the
/// process that started it (Linux carries `ru_maxrss` over an exec).
#[test]
fn the_reported_peak_memory_is_the_importers_own() {
    let env = Env::new();
    env.write("a.csv", csv(&[line("DS-1")]));
    // Touched, so resident in this process when the importer starts.
    let ballast = vec![7u8; 200 << 20];
    let r = run(&env, &["a.csv"]);
    r.expect_code(0);
    assert!(
        std::hint::black_box(&ballast)
            .iter()
            .step_by(4096)
            .all(|&b| b == 7)
    );
    let peak = peak_rss(&r);
    assert!(peak > 0 && peak < 64 * MIB, "peak RSS {peak} bytes");
}

#[test]
fn recommend_warns_of_a_gzip_file_too_large_once_decompressed() {
    let env = Env::new();
    let lines: Vec<_> = (0..3000).map(|i| line(&format!("DS-{i:05}"))).collect();
    // Read whole by recommend's sample, and larger than it.
    let small = gzip(csv(&lines[..10]).as_bytes());
    let big = gzip(csv(&lines).as_bytes());
    assert!(small.len() < 2000 && big.len() < 500_000);
    env.write("small.csv.gz", small);
    env.write("big.csv.gz", big);
    env.write("tiny.csv.gz", gzip(csv(&lines[..1]).as_bytes()));
    env.write(
        "2k.toml",
        "[streaming_import]\nmax_file_size = \"2000 B\"\n",
    );
    env.write(
        "500k.toml",
        "[streaming_import]\nmax_file_size = \"500KB\"\n",
    );
    let too_large = |files: &[&str], config: &str| -> Vec<String> {
        let out = env
            .cmd()
            .arg("recommend")
            .args(files)
            .args(["-c", config, "--json"])
            .output()
            .unwrap();
        let advice: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        advice["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["kind"] == "too_large" && w["level"] == "error")
            .filter_map(|w| w["path"].as_str())
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .collect()
    };
    assert_eq!(
        too_large(&["small.csv.gz", "tiny.csv.gz"], "2k.toml"),
        ["small.csv.gz"]
    );
    assert_eq!(
        too_large(&["big.csv.gz", "tiny.csv.gz"], "500k.toml"),
        ["big.csv.gz"]
    );
}

/// Every row read ends in a bucket, also the rows of the chunk a failure
/// cuts short: a file that fails part-way counts all of them as read and
/// failed, whatever the chunk size.
#[test]
fn rows_read_before_a_file_fails_part_way_are_all_counted_failed() {
    let env = Env::new();
    let lines: Vec<_> = (0..2500).map(|i| line(&format!("DS-{i:05}"))).collect();
    let text = csv(&lines);
    let limit = text.len() + 1000;
    let mut inflated = text.into_bytes();
    inflated.extend(std::iter::repeat_n(b'x', 10_000));
    env.write("grows.csv.gz", gzip(&inflated));
    for chunk in ["1000", "7", "2500"] {
        let db = format!("t{chunk}.db");
        let r = run(
            &env,
            &[
                "grows.csv.gz",
                "--max-file-size",
                &limit.to_string(),
                "--chunk-size",
                chunk,
                "--db",
                &db,
            ],
        );
        r.expect_code(3);
        assert_eq!(r.file_status("grows.csv.gz"), "failed", "{}", r.stderr);
        assert_eq!(r.n("/rows/read"), 2500, "chunk size {chunk}: {}", r.stdout);
        assert_eq!(
            r.n("/rows/failed"),
            2500,
            "chunk size {chunk}: {}",
            r.stdout
        );
    }
}
