//! Who owns an order when files are read at once and some of them fail.
//!
//! A failed file leaves the tables as if it had never been read: an order
//! that another file met while the failed one held it belongs to that other
//! file afterwards, with its own lines, and the summary and `import_files`
//! count its rows as imported. Under `--on-duplicate update`, the version
//! that stands is the newest one of a file that did not fail, and an order's
//! lines always come from the one file that owns it, all of them.
//!
//! With `-j 2` the interleaving of files is up to the threads, so each test
//! builds files where the interesting interleaving is likely, checks the
//! invariant whatever interleaving happened, and runs a few trials.
//! (`src/store/sqlite/write.rs` has unit tests that choose every
//! interleaving.) Every test runs against SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::*;

const TRIALS: usize = 3;

/// `n` one-line orders `PREFIX-0`, `PREFIX-1`, ...
fn filler(prefix: &str, n: usize) -> Vec<Line> {
    (0..n).map(|i| line(&format!("{prefix}-{i}"))).collect()
}

fn bad(kode: &str) -> Line {
    line(kode).set("Qty", "two")
}

/// The `import_files` id of the file named `name` in the last run that read it.
fn file_id(env: &Env, name: &str) -> i64 {
    env.one(&format!(
        "SELECT max(id) FROM import_files WHERE path LIKE '%{name}'"
    ))
}

/// a.csv holds DS-X first and fails at its end; b.csv meets DS-X while a.csv
/// is still being read. `a_name` and `a_bytes` give a.csv's form.
fn failed_file_hands_over(b: Backend, a_name: &str, a_bytes: Vec<u8>, extra: &[&str]) {
    let env = Env::on(b);
    env.write(a_name, a_bytes);
    let mut b = filler("DS-B", 300);
    b.push(line("DS-X").set("SKU", "B-1").set("Nama Toko", "Toko B"));
    b.push(line("DS-X").set("SKU", "B-2").set("Nama Toko", "Toko B"));
    b.extend(filler("DS-BB", 10));
    env.write("b.csv", csv(&b));
    let mut args = vec!["-j", "2", "--chunk-size", "50"];
    args.extend_from_slice(extra);
    args.extend([a_name, "b.csv"]);
    let run = env.run(&args);
    run.expect_code(3);
    assert_eq!(run.file_status(a_name), "failed");
    assert_eq!(run.file_status("b.csv"), "imported");
    let b_id = file_id(&env, "b.csv");
    assert_eq!(env.skus("DS-X"), ["B-1", "B-2"]);
    assert_eq!(env.order_int("DS-X", "import_file_id"), Some(b_id));
    assert_eq!(
        env.order_text("DS-X", "nama_toko").as_deref(),
        Some("Toko B")
    );
    assert_eq!(env.count("dropship_purchases"), 311);
    assert_eq!(env.count("dropship_purchase_details"), 312);
    assert_eq!(run.file_rows("b.csv"), [312, 312, 0, 0, 0, 0]);
    let [read, imported, rejected, duplicate, filtered, failed] = run.rows();
    assert_eq!((imported, rejected, duplicate, filtered), (312, 0, 0, 0));
    assert_eq!(read, 312 + failed);
    assert_eq!(run.n("/orders/created"), 311);
    assert_eq!(run.n("/orders/duplicate"), 0);
    let stored: Vec<i64> = env.database.column(&format!(
        "SELECT n FROM (SELECT 1 AS k, rows_imported AS n FROM import_files WHERE id = {b_id}
         UNION ALL SELECT 2, rows_duplicate FROM import_files WHERE id = {b_id}) t ORDER BY k"
    ));
    assert_eq!(stored, [312, 0]);
    env.assert_orders_belong_to_one_imported_file(false);
    // Nothing is left for a later run: the same files change nothing.
    let before = env.table_counts();
    env.run(&["b.csv"]).expect_code(0);
    assert_eq!(env.table_counts(), before);
}

fn a_rows() -> Vec<Line> {
    let mut a = vec![line("DS-X").set("SKU", "A-1").set("Nama Toko", "Toko A")];
    a.extend(filler("DS-A", 3000));
    a
}

both! {
    fn a_file_failing_on_max_errors_hands_its_order_to_the_file_that_met_it(b) {
        for _ in 0..TRIALS {
            let mut a = a_rows();
            a.extend([bad("DS-Z1"), bad("DS-Z2")]);
            failed_file_hands_over(b, "a.csv", csv(&a).into_bytes(), &["--max-errors", "1"]);
        }
    }
}

both! {
    fn a_file_failing_on_a_read_error_hands_its_order_to_the_file_that_met_it(b) {
        for _ in 0..TRIALS {
            // A .csv.gz cut short: the rows inflate until the stream breaks.
            let mut gz = gzip(csv(&a_rows()).as_bytes());
            gz.truncate(gz.len() - 64);
            failed_file_hands_over(b, "a.csv.gz", gz, &[]);
        }
    }
}

both! {
    fn a_dry_run_counts_the_order_taken_over_from_a_failed_file_as_imported(b) {
    for _ in 0..TRIALS {
        let env = Env::on(b);
        let mut a = a_rows();
        a.extend([bad("DS-Z1"), bad("DS-Z2")]);
        env.write("a.csv", csv(&a));
        let mut b = filler("DS-B", 300);
        b.push(line("DS-X").set("SKU", "B-1"));
        b.push(line("DS-X").set("SKU", "B-2"));
        env.write("b.csv", csv(&b));
        let run = env.run(&[
            "--dry-run",
            "-j",
            "2",
            "--chunk-size",
            "50",
            "--max-errors",
            "1",
            "a.csv",
            "b.csv",
        ]);
        run.expect_code(3);
        assert_eq!(run.file_status("a.csv"), "failed");
        assert_eq!(run.file_rows("b.csv"), [302, 302, 0, 0, 0, 0]);
        assert_eq!(run.n("/rows/duplicate"), 0);
        assert_eq!(run.n("/orders/created"), 301);
        assert_eq!(run.n("/orders/duplicate"), 0);
        assert!(!env.database.exists(), "a dry run wrote");
    }
    }
}

both! {
    /// b.csv imported DS-X; a.csv and c.csv both replace it under update and
    /// both fail (a.csv first, most likely): b.csv's version stands.
    fn two_failed_replacers_leave_the_version_of_the_file_that_did_not_fail(b) {
    for _ in 0..TRIALS {
        let env = Env::on(b);
        let x = |file: &str, sku: &str| {
            line("DS-X")
                .set("SKU", sku)
                .set("Nama Toko", &format!("Toko {file}"))
        };
        env.write("b.csv", csv(&[x("B", "B-1"), x("B", "B-2")]));
        env.run(&["b.csv"]).expect_code(0);
        let b_id = file_id(&env, "b.csv");

        let mut a = vec![x("A", "A-1")];
        a.extend(filler("DS-A", 200));
        a.extend([bad("DS-Z1"), bad("DS-Z2")]);
        env.write("a.csv", csv(&a));
        let mut c = vec![x("C", "C-1")];
        c.extend(filler("DS-C", 2000));
        c.extend([bad("DS-Z3"), bad("DS-Z4")]);
        env.write("c.csv", csv(&c));
        let run = env.run(&[
            "-j",
            "2",
            "--chunk-size",
            "50",
            "--on-duplicate",
            "update",
            "--max-errors",
            "1",
            "a.csv",
            "c.csv",
        ]);
        run.expect_code(3);
        assert_eq!(run.file_status("a.csv"), "failed");
        assert_eq!(run.file_status("c.csv"), "failed");
        assert_eq!(run.n("/rows/imported"), 0);
        assert_eq!(run.n("/orders/updated"), 0);
        assert_eq!(env.orders(), ["DS-X"]);
        assert_eq!(env.order_int("DS-X", "import_file_id"), Some(b_id));
        assert_eq!(
            env.order_text("DS-X", "nama_toko").as_deref(),
            Some("Toko B")
        );
        assert_eq!(env.skus("DS-X"), ["B-1", "B-2"]);
        env.assert_orders_belong_to_one_imported_file(false);
    }
    }
}

/// p.csv and q.csv hold the same orders, three lines each, and chunks of
/// two rows split most orders; read at once under update, each order must
/// end with the three lines of one file. With `fail_q`, q.csv fails at its
/// end and every order is p.csv's.
fn update_keeps_each_order_to_one_file(b: Backend, fail_q: bool) {
    let env = Env::on(b);
    let order = |file: &str, i: usize| -> Vec<Line> {
        (1..=3)
            .map(|n| {
                line(&format!("DS-{i}"))
                    .set("SKU", &format!("{file}-{i}-{n}"))
                    .set("Nama Toko", file)
            })
            .collect()
    };
    let p: Vec<Line> = (0..40).flat_map(|i| order("P", i)).collect();
    // q.csv meets the orders in another order, and starts one row later.
    let mut q = filler("DS-Q", 1);
    q.extend((0..40).rev().flat_map(|i| order("Q", i)));
    if fail_q {
        q.extend([bad("DS-Z1"), bad("DS-Z2")]);
    }
    env.write("p.csv", csv(&p));
    env.write("q.csv", csv(&q));
    let mut args = vec![
        "-j",
        "2",
        "--chunk-size",
        "2",
        "--on-duplicate",
        "update",
        "p.csv",
        "q.csv",
    ];
    if fail_q {
        args.extend(["--max-errors", "1"]);
    }
    let run = env.run(&args);
    run.expect_code(if fail_q { 3 } else { 0 });
    env.assert_orders_belong_to_one_imported_file(true);
    for i in 0..40 {
        let kode = format!("DS-{i}");
        let shop = env.order_text(&kode, "nama_toko").unwrap();
        if fail_q {
            assert_eq!(shop, "P", "{kode}");
        }
        let expected: Vec<String> = (1..=3).map(|n| format!("{shop}-{i}-{n}")).collect();
        let mut skus = env.skus(&kode);
        skus.sort();
        assert_eq!(skus, expected, "lines of {kode}");
    }
    if fail_q {
        assert_eq!(run.file_status("q.csv"), "failed");
        assert_eq!(run.file_rows("p.csv"), [120, 120, 0, 0, 0, 0]);
        assert_eq!(env.count("dropship_purchases"), 40);
    } else {
        // Every row is in or was written over: none is a duplicate.
        let [read, imported, ..] = run.rows();
        assert_eq!(read, imported);
        assert_eq!(run.n("/rows/duplicate"), 0);
        assert_eq!(env.count("dropship_purchases"), 41);
        assert_eq!(run.n("/orders/created") + run.n("/orders/updated"), 81);
    }
}

both! {
    fn update_never_mixes_two_files_in_one_order(b) {
        for _ in 0..TRIALS {
            update_keeps_each_order_to_one_file(b, false);
        }
    }
}

both! {
    fn update_with_a_failed_file_keeps_each_order_whole(b) {
        for _ in 0..TRIALS {
            update_keeps_each_order_to_one_file(b, true);
        }
    }
}
