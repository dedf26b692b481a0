//! What holds only for PostgreSQL (SPEC.md "PostgreSQL", "Several importers,
//! one database"): no trace of a dry run, tables the tool did not create left
//! alone, two runs at once, the password kept out of every output, the ways
//! of naming the database, `status` and `recommend` on it, column types, and
//! the promises of SQLite checked again against a server.
//!
//! Each test has a schema of its own in the database of `DROPSHIP_TEST_PG`
//! (default `postgres://root@127.0.0.1:5432/test`); without a server the
//! tests are skipped, saying how to run them.

#[macro_use]
mod common;

use common::db::{Pg, ident, pg_admin_exec, unique_name};
use common::{Backend, Db, Env, FromCell, Run, csv, line, lit};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dropship-import");

/// A folder whose runs write to a fresh schema; `None` when the test is
/// skipped (no server and `DROPSHIP_TEST_PG` unset).
fn pg_env() -> Option<Env> {
    Backend::postgres().map(Env::on)
}

fn pg(env: &Env) -> &Pg {
    env.database.pg()
}

/// Tables of the env's schema, sorted.
fn tables(env: &Env) -> Vec<String> {
    env.column(&format!(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = {} ORDER BY 1",
        lit(&pg(env).schema)
    ))
}

/// `n` lines, one order each: a file big enough to catch its run part-way.
fn big_csv(prefix: &str, n: usize) -> String {
    let lines: Vec<_> = (0..n)
        .map(|i| line(&format!("{prefix}-{i:06}")).set("No", &(i + 1).to_string()))
        .collect();
    csv(&lines)
}

/// A run of the binary in the background, its output going to files.
struct Bg {
    child: Option<Child>,
    args: Vec<String>,
    out: std::path::PathBuf,
    err: std::path::PathBuf,
}

impl Bg {
    fn spawn(env: &Env, args: &[&str]) -> Bg {
        Bg::spawn_as_given(
            env,
            &env.full_args(args)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    }

    /// With `args` as given: no database added.
    fn spawn_as_given(env: &Env, args: &[&str]) -> Bg {
        Bg::spawn_through(env, &[], args)
    }

    /// The binary started by the command `through` (another namespace, say),
    /// with `args` as given.
    fn spawn_through(env: &Env, through: &[&str], args: &[&str]) -> Bg {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (out, err) = (
            env.path(&format!("bg-{n}.out")),
            env.path(&format!("bg-{n}.err")),
        );
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (program, before) = match through {
            [] => (BIN, &[][..]),
            [program, before @ ..] => (*program, before),
        };
        let child = Command::new(program)
            .args(before)
            .args(if through.is_empty() { None } else { Some(BIN) })
            .current_dir(env.dir.path())
            .env_remove("DROPSHIP_DB")
            .env_remove("RUST_LOG")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("start dropship-import");
        Bg {
            child: Some(child),
            args,
            out,
            err,
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the pid of our own unreaped child.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().unwrap().try_wait(), Ok(None))
    }

    fn wait(mut self) -> Run {
        let mut child = self.child.take().unwrap();
        // SIGCONT in case a failing test left it stopped.
        // SAFETY: kill(2) on the pid of our own unreaped child.
        unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
        let status = child.wait().expect("wait for dropship-import");
        let out = std::process::Output {
            status,
            stdout: std::fs::read(&self.out).unwrap_or_default(),
            stderr: std::fs::read(&self.err).unwrap_or_default(),
        };
        Run::of(std::mem::take(&mut self.args), out)
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `cond` until it holds (true) or `bg` ends first (false).
fn poll_while_alive(bg: &mut Bg, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        if !bg.alive() {
            return cond();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("nothing seen in 120 s");
}

/// Starts an import of a big file, waits until it has committed rows of it
/// and freezes it; its run id. The claim is then held by a live run.
fn start_and_freeze(env: &Env, file: &str) -> (Bg, i64) {
    let mut bg = Bg::spawn(env, &["--chunk-size", "50", "-j", "1", file]);
    let db = &env.database;
    let mut id = None;
    let seen = poll_while_alive(&mut bg, || {
        id = db
            .try_query(
                "SELECT r.id FROM import_runs r JOIN import_files f ON f.run_id = r.id
                 WHERE r.state = 'running' AND f.state = 'in_progress' AND f.rows_committed > 0",
            )
            .ok()
            .and_then(|rows| rows.first().map(|r| i64::from_cell(&r[0])));
        id.is_some()
    });
    assert!(
        seen,
        "the run ended before it was seen part-way (file too small?)"
    );
    bg.signal(libc::SIGSTOP);
    (bg, id.expect("run id"))
}

// ---------------------------------------------------------------------------
// --dry-run

#[test]
fn dry_run_creates_no_schema_table_or_row() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
    let run = env.run(&["--dry-run", "a.csv"]);
    run.expect_code(0);
    assert!(run.json["run_id"].is_null(), "{}", run.stdout);
    assert_eq!(run.rows(), [2, 2, 0, 0, 0, 0]);
    assert!(!pg(&env).schema_exists(), "a dry run created the schema");

    // An existing, empty schema gets no table either.
    env.database
        .execute(&format!("CREATE SCHEMA {}", ident(&pg(&env).schema)));
    env.run(&["--dry-run", "a.csv"]).expect_code(0);
    assert_eq!(tables(&env), Vec::<String>::new());

    // Against imported data: it reports what a real run would and writes nothing.
    env.run(&["a.csv"]).expect_code(0);
    let before = env.table_counts();
    let runs_before = env.query("SELECT * FROM import_runs ORDER BY id");
    env.write("b.csv", csv(&[line("DS-2").set("SKU", "B"), line("DS-3")]));
    let run = env.run(&["--dry-run", "a.csv", "b.csv"]);
    run.expect_code(0);
    assert!(run.json["run_id"].is_null());
    assert_eq!(run.file_status("a.csv"), "skipped");
    assert_eq!(run.file_rows("b.csv"), [2, 1, 0, 1, 0, 0]);
    assert_eq!(env.table_counts(), before);
    assert_eq!(
        env.query("SELECT * FROM import_runs ORDER BY id"),
        runs_before
    );
    assert_eq!(env.orders(), ["DS-1", "DS-2"]);
}

#[test]
fn a_dry_run_holds_no_lock_a_real_run_would_wait_for() {
    let Some(env) = pg_env() else { return };
    // The real run comes first so that the dry run meets existing tables.
    env.write("seed.csv", csv(&[line("DS-0")]));
    env.run(&["seed.csv"]).expect_code(0);

    // A dry run frozen part-way: past its small first file (its log line
    // is out), inside the big one.
    env.write("a-small.csv", csv(&[line("SMALL-1")]));
    env.write("b-big.csv", big_csv("BIG", 100_000));
    let mut dry = Bg::spawn(
        &env,
        &[
            "--dry-run",
            "-j",
            "1",
            "--chunk-size",
            "50",
            "--progress",
            "log",
            "a-small.csv",
            "b-big.csv",
        ],
    );
    let log = dry.err.clone();
    let seen = poll_while_alive(&mut dry, || log_names(&log, "a-small.csv"));
    assert!(
        seen && dry.alive(),
        "the dry run ended before it was caught part-way"
    );
    dry.signal(libc::SIGSTOP);

    // Meanwhile a real run on the same schema does its whole job.
    env.write("c.csv", csv(&[line("DS-9")]));
    let run = env.run(&["c.csv"]);
    run.expect_code(0);
    assert_eq!(run.rows(), [1, 1, 0, 0, 0, 0]);

    dry.signal(libc::SIGCONT);
    let done = dry.wait();
    done.expect_code(0);
    assert_eq!(done.rows(), [100_001, 100_001, 0, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-0", "DS-9"]);
}

/// Whether the log at `path` already has a line about `name`.
fn log_names(path: &std::path::Path, name: &str) -> bool {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(name))
}

// ---------------------------------------------------------------------------
// Tables the tool did not create

#[test]
fn a_dropship_purchases_table_the_tool_did_not_create_is_left_alone() {
    let Some(env) = pg_env() else { return };
    let s = ident(&pg(&env).schema);
    env.database.execute(&format!(
        "CREATE SCHEMA {s};
         CREATE TABLE {s}.dropship_purchases (kode_pesanan text PRIMARY KEY, total_transaksi numeric);
         INSERT INTO {s}.dropship_purchases VALUES ('ERP-1', 12.5)"
    ));
    let columns = |env: &Env| -> Vec<Vec<Option<String>>> {
        env.query(&format!(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = {} AND table_name = 'dropship_purchases' ORDER BY ordinal_position",
            lit(&pg(env).schema)
        ))
    };
    let before = columns(&env);
    env.write("a.csv", csv(&[line("DS-1")]));
    let run = env.run(&["a.csv"]);
    run.expect_code(1);
    assert!(run.stderr.contains("dropship_purchases"), "{}", run.stderr);
    assert!(run.stderr.contains("--schema"), "{}", run.stderr);
    assert_eq!(columns(&env), before);
    assert_eq!(
        env.query("SELECT kode_pesanan, total_transaksi::text FROM dropship_purchases"),
        [[Some("ERP-1".to_string()), Some("12.5".to_string())]]
    );
}

// ---------------------------------------------------------------------------
// Two runs at once

/// Waits until `bg` has committed rows of a file it is still reading.
fn wait_part_way(env: &Env, bg: &mut Bg) {
    let db = &env.database;
    let seen = poll_while_alive(bg, || {
        db.try_query(
            "SELECT 1 FROM import_files WHERE state = 'in_progress' AND rows_committed > 0",
        )
        .is_ok_and(|rows| !rows.is_empty())
    });
    assert!(seen, "the run ended before it was seen part-way");
}

/// A config file giving claims a lease of `secs` seconds; its name.
fn lease_config(env: &Env, secs: u64) -> &'static str {
    env.write("lease.toml", format!("[database]\nlease = \"{secs}s\"\n"));
    "lease.toml"
}

/// The lines of the env's schema, as text: order, SKU, line in its file.
fn line_keys(env: &Env) -> Vec<String> {
    env.column(
        "SELECT kode_pesanan || ' ' || sku || ' ' || source_line
         FROM dropship_purchase_details ORDER BY 1",
    )
}

/// A second run while a first imports the same file leaves that file to
/// the first (skipped, naming it) and imports the rest; `status` lists both
/// runs live, with their hosts.
#[test]
fn a_second_run_leaves_a_file_a_live_run_holds_and_imports_the_rest() {
    let Some(env) = pg_env() else { return };
    env.write("big.csv", big_csv("DS", 40_000));
    let mut first = Bg::spawn(&env, &["--chunk-size", "50", "-j", "1", "big.csv"]);
    wait_part_way(&env, &mut first);
    let first_run: i64 = env.one("SELECT max(run_id) FROM import_files");

    let status = env.run(&["status", "--json"]);
    status.expect_code(0);
    assert_eq!(status.json[0]["id"], first_run, "{}", status.stdout);
    assert_eq!(status.json[0]["state"], "running", "{}", status.stdout);
    assert!(status.json[0]["host"].is_string(), "{}", status.stdout);

    env.write("small.csv", csv(&[line("OTHER-1")]));
    let second = env.run(&["-j", "1", "big.csv", "small.csv"]);
    second.expect_code(0);
    assert_eq!(second.file_status("small.csv"), "imported");
    assert_eq!(second.file_status("big.csv"), "skipped");
    let why = second.file("big.csv")["error"].as_str().unwrap_or_default();
    assert!(
        why.starts_with(&format!("claimed by run {first_run} on ")),
        "{why}"
    );
    assert!(
        second.stderr.contains("big.csv: skipped, claimed by run"),
        "{}",
        second.stderr
    );

    let done = first.wait();
    done.expect_code(0);
    assert_eq!(done.file_status("big.csv"), "imported");
    assert_eq!(env.count("dropship_purchase_details"), 40_001);
    assert_eq!(env.count("dropship_purchases"), 40_001);
    let states: Vec<String> =
        env.column("SELECT path || ' ' || state FROM import_files ORDER BY run_id, id");
    assert_eq!(
        states,
        ["big.csv imported", "small.csv imported", "big.csv skipped"]
    );
}

/// A run frozen past its lease loses its file to a run that takes it over
/// from its checkpoint; thawed, it writes nothing more of it and says so.
#[test]
fn a_run_paused_past_its_lease_loses_its_file_and_says_so() {
    let Some(env) = pg_env() else { return };
    let config = lease_config(&env, 2);
    env.write("big.csv", big_csv("DS", 40_000));
    let mut first = Bg::spawn(
        &env,
        &["-c", config, "--chunk-size", "50", "-j", "1", "big.csv"],
    );
    wait_part_way(&env, &mut first);
    let first_run: i64 = env.one("SELECT max(run_id) FROM import_files");
    first.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(3));

    let second = env.run(&["-c", config, "big.csv"]);
    second.expect_code(0);
    assert_eq!(second.file_status("big.csv"), "imported");
    assert!(
        second.file("big.csv")["resumed_from_line"].as_u64() > Some(1),
        "{}",
        second.stdout
    );
    let second_run = second.json["run_id"].as_i64().expect("a run id");

    first.signal(libc::SIGCONT);
    let thawed = first.wait();
    // Thawed between two commits it finds its claim gone and exits 0;
    // thawed inside one, the server has ended its session: exit 1. Either
    // way it names the run that took the file over.
    let said = format!("{}{}", thawed.stdout, thawed.stderr);
    assert!(
        said.contains(&format!("run {second_run} on ")) && said.contains("took it over"),
        "exit {}: {said}",
        thawed.code
    );
    let state: String = env.one(&format!(
        "SELECT state FROM import_runs WHERE id = {first_run}"
    ));
    match thawed.code {
        0 => assert_eq!(thawed.file_status("big.csv"), "skipped"),
        // Recorded through a new connection: its files are free at once.
        1 => {
            assert!(
                thawed.stderr.contains("lost its claims"),
                "{}",
                thawed.stderr
            );
            assert_eq!(state, "failed");
        }
        code => panic!("exit {code}: {said}"),
    }

    // Nothing doubled, nothing lost: the rows of one clean import.
    assert_eq!(env.count("dropship_purchases"), 40_000);
    assert_eq!(line_keys(&env).len(), 40_000);
    let distinct: i64 = env
        .one("SELECT count(DISTINCT (kode_pesanan, source_line)) FROM dropship_purchase_details");
    assert_eq!(distinct, 40_000);
    let imported: Vec<String> =
        env.column("SELECT path FROM import_files WHERE state = 'imported'");
    assert_eq!(imported, ["big.csv"]);
    let counted: i64 = env.one("SELECT sum(rows_imported)::bigint FROM import_runs");
    assert_eq!(
        counted, 40_000,
        "each row counted in the run that committed it"
    );
}

/// A TCP relay between a run and the server that the test can cut: both
/// sides of every connection are shut down at once.
struct Relay {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sockets: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn to(server: std::net::SocketAddr) -> Relay {
        Relay::on("127.0.0.1", server)
    }

    /// A relay listening on address `at`.
    fn on(at: &str, server: std::net::SocketAddr) -> Relay {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind((at, 0)).expect("relay port");
        let port = listener.local_addr().expect("relay address").port();
        let relay = Relay {
            port,
            cut: Default::default(),
            sockets: Default::default(),
        };
        let (cut, sockets) = (relay.cut.clone(), relay.sockets.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused at once
                }
                let Ok(upstream) = TcpStream::connect(server) else {
                    continue;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                };
                let mut held = sockets.lock().unwrap();
                for s in [&client, &upstream] {
                    held.push(s.try_clone().expect("clone socket"));
                }
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        relay
    }

    /// Cuts every connection and refuses new ones.
    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in self.sockets.lock().unwrap().iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A run whose connection is cut part-way fails, and its file goes to the
/// next run from its checkpoint: the server ended its session with the
/// connection, so the claim is free at once.
#[test]
fn a_run_cut_off_from_the_server_leaves_its_file_to_the_next() {
    let Some(env) = pg_env() else { return };
    let url = env.database.target();
    let parsed = url::Url::parse(&url).expect("a URL");
    let (host, port) = (
        parsed.host_str().unwrap_or("127.0.0.1").to_string(),
        parsed.port().unwrap_or(5432),
    );
    let server = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .expect("server address")
        .find(|a| a.is_ipv4())
        .expect("an IPv4 address");
    let relay = Relay::to(server);
    let mut through = parsed.clone();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(relay.port)).unwrap();

    env.write("big.csv", big_csv("DS", 40_000));
    let args = [
        "--db",
        through.as_str(),
        "--schema",
        &pg(&env).schema,
        "--chunk-size",
        "50",
        "-j",
        "1",
        "big.csv",
    ];
    let mut first = Bg::spawn_as_given(&env, &args);
    wait_part_way(&env, &mut first);
    relay.cut();
    let cut = first.wait();
    assert_eq!(cut.code, 1, "{}", cut.stderr);
    assert!(cut.stderr.contains("connection"), "{}", cut.stderr);

    let next = env.run(&["big.csv"]);
    next.expect_code(0);
    assert_eq!(next.file_status("big.csv"), "imported");
    assert!(next.file("big.csv")["resumed_from_line"].as_u64() > Some(1));
    assert_eq!(env.count("dropship_purchases"), 40_000);
    let distinct: i64 = env
        .one("SELECT count(DISTINCT (kode_pesanan, source_line)) FROM dropship_purchase_details");
    assert_eq!(
        (env.count("dropship_purchase_details"), distinct),
        (40_000, 40_000)
    );
}

/// Another machine, as far as the network and its name go: a network
/// namespace joined to this one by a veth pair, whose runs reach the
/// server through a relay on this side's address and run under a host name
/// of their own (a UTS namespace). Taken down on drop.
struct Host {
    ns: String,
    link: String,
    name: String,
    url: String,
}

impl Host {
    /// Host number `n` named `name`; `None` where namespaces cannot be made
    /// (not root, no `ip`).
    fn new(n: u32, name: &str, server: std::net::SocketAddr, url: &url::Url) -> Option<Host> {
        let id = std::process::id() % 250;
        let (ns, link) = (format!("dsi{id}h{n}"), format!("dsi{id}h{n}o"));
        let (outside, inside) = (
            format!("10.{}.{id}.1", 230 + n),
            format!("10.{}.{id}.2", 230 + n),
        );
        let sh = |cmd: &str| {
            Command::new("sh")
                .args(["-c", cmd])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let _ = sh(&format!("ip netns del {ns}; ip link del {link}"));
        let made = sh(&format!(
            "ip netns add {ns} && ip link add {link} type veth peer name {ns}i && \
             ip link set {ns}i netns {ns} && ip addr add {outside}/30 dev {link} && \
             ip link set {link} up && ip -n {ns} addr add {inside}/30 dev {ns}i && \
             ip -n {ns} link set {ns}i up && ip -n {ns} link set lo up"
        ));
        let mut host = Host {
            ns,
            link,
            name: name.to_string(),
            url: String::new(),
        };
        if !made {
            return None;
        }
        let relay = Relay::on(&outside, server);
        let mut through = url.clone();
        through.set_host(Some(&outside)).ok()?;
        through.set_port(Some(relay.port)).ok()?;
        std::mem::forget(relay); // serves until the test process ends
        host.url = through.to_string();
        Some(host)
    }

    /// The command that runs the binary on this host.
    fn through(&self) -> Vec<&str> {
        vec![
            "ip",
            "netns",
            "exec",
            &self.ns,
            "unshare",
            "--uts",
            "sh",
            "-c",
            "hostname \"$0\" && exec \"$@\"",
            &self.name,
        ]
    }

    /// Unplugs the host: packets stop both ways, no connection is closed.
    fn unplug(&self) {
        let ok = Command::new("ip")
            .args(["link", "set", &self.link, "down"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip link set {} down", self.link);
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.link])
            .status();
    }
}

/// Runs on two hosts (network namespaces with their own names) share one
/// folder; one host is unplugged part-way, its run gives up on its own, and
/// a run on the other host takes its file over once its lease lapsed.
/// `import_runs` and `status` name both hosts.
#[test]
fn runs_on_two_hosts_share_a_folder_and_an_unplugged_one_leaves_its_file() {
    let Some(env) = pg_env() else { return };
    let url = url::Url::parse(&env.database.target()).expect("a URL");
    let server = std::net::ToSocketAddrs::to_socket_addrs(&(
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432),
    ))
    .expect("server address")
    .find(|a| a.is_ipv4())
    .expect("an IPv4 address");
    let (Some(a), Some(b)) = (
        Host::new(1, "importer-a", server, &url),
        Host::new(2, "importer-b", server, &url),
    ) else {
        println!("skipped: cannot make network namespaces here (needs root and ip netns)");
        return;
    };
    let config = lease_config(&env, 2);
    for i in 0..4 {
        env.write(
            &format!("files/big-{i}.csv"),
            big_csv(&format!("B{i}"), 20_000),
        );
    }
    let schema = pg(&env).schema.clone();
    let args = |host: &Host| -> Vec<String> {
        [
            "--db", &host.url, "--schema", &schema, "-c", config, "-j", "1",
        ]
        .into_iter()
        .chain(["--chunk-size", "50", "files"])
        .map(String::from)
        .collect()
    };
    let spawn = |host: &Host| {
        let args = args(host);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Bg::spawn_through(&env, &host.through(), &args)
    };
    let mut on_a = spawn(&a);
    let on_b = spawn(&b);
    let db = &env.database;
    let busy = poll_while_alive(&mut on_a, || {
        db.try_query(
            "SELECT 1 FROM import_files f JOIN import_runs r ON r.id = f.run_id
             WHERE r.host = 'importer-a' AND f.state = 'in_progress' AND f.rows_committed > 0",
        )
        .is_ok_and(|rows| !rows.is_empty())
    });
    assert!(busy, "the run on host a ended before it was seen part-way");
    let status = env.run(&["status", "--json"]);
    let hosts: Vec<&str> = (status.json.as_array().into_iter().flatten())
        .filter(|r| r["state"] == "running")
        .filter_map(|r| r["host"].as_str())
        .collect();
    assert!(hosts.contains(&"importer-a"), "{}", status.stdout);
    a.unplug();

    let cut = on_a.wait();
    assert_eq!(cut.code, 1, "{}", cut.stderr);
    assert!(cut.stderr.contains("connection was lost"), "{}", cut.stderr);
    let first_b = on_b.wait();
    assert!(matches!(first_b.code, 0), "{}", first_b.stderr);

    // The file host a held is taken over once its lease has lapsed.
    let again = spawn(&b).wait();
    again.expect_code(0);
    let imported: i64 = env.one("SELECT count(*) FROM import_files WHERE state = 'imported'");
    assert_eq!(imported, 4, "{}", again.stdout);
    assert_eq!(env.count("dropship_purchases"), 80_000);
    let distinct: i64 = env
        .one("SELECT count(DISTINCT (kode_pesanan, source_line)) FROM dropship_purchase_details");
    assert_eq!(
        (env.count("dropship_purchase_details"), distinct),
        (80_000, 80_000)
    );
    let hosts: Vec<String> = env.column("SELECT DISTINCT host FROM import_runs ORDER BY host");
    assert_eq!(hosts, ["importer-a", "importer-b"]);
    let counted: i64 = env.one("SELECT sum(rows_imported)::bigint FROM import_runs");
    assert_eq!(counted, 80_000);
}

/// A file that another run's failed file handed an order, and that then
/// fails itself, takes what was handed out of its run's totals too: with
/// both files failed, no run counts an imported or duplicate row.
#[test]
fn a_file_handed_an_order_by_another_run_then_failing_leaves_no_count_behind() {
    let Some(env) = pg_env() else { return };
    let failing = |first: &str, n: usize| {
        let mut lines = vec![line("SHARED").set("SKU", first)];
        lines.extend((1..n).map(|i| line(&format!("{first}-{i:06}"))));
        lines.push(line("BAD-1").set("Qty", "x"));
        lines.push(line("BAD-2").set("Qty", "y"));
        csv(&lines)
    };
    env.write("a.csv", failing("A", 40_000));
    env.write("b.csv", failing("B", 60_000));
    let args = |file: &'static str| ["--chunk-size", "50", "-j", "1", "--max-errors", "1", file];
    let mut a = Bg::spawn(&env, &args("a.csv"));
    let db = &env.database;
    poll_while_alive(&mut a, || {
        db.try_query("SELECT 1 FROM dropship_purchases WHERE kode_pesanan = 'SHARED'")
            .is_ok_and(|rows| !rows.is_empty())
    });
    // b's row of the order waits on a's file, which fails first.
    let mut b = Bg::spawn(&env, &args("b.csv"));
    poll_while_alive(&mut b, || {
        db.try_query("SELECT 1 FROM import_waiting_rows WHERE kode_pesanan = 'SHARED'")
            .is_ok_and(|rows| !rows.is_empty())
    });
    let (a, b) = (a.wait(), b.wait());
    a.expect_code(3);
    b.expect_code(3);
    assert_eq!(env.count("dropship_purchases"), 0);
    let totals: Vec<i64> = env.column(
        "SELECT n FROM (SELECT 1 k, sum(rows_imported)::bigint n FROM import_runs
             UNION ALL SELECT 2, sum(rows_duplicate)::bigint FROM import_runs
             UNION ALL SELECT 3, sum(orders_created + orders_updated + orders_duplicate)::bigint
                       FROM import_runs
             UNION ALL SELECT 4, sum(rows_failed)::bigint FROM import_runs) t ORDER BY k",
    );
    assert_eq!(totals, [0, 0, 0, 40_002 + 60_002]);
}

/// A path names a file on the machine that read it: a partial file that a
/// killed run on another host left under the same path is not taken for an
/// older download of the file here (not rolled back as superseded); it
/// stays for a run with its bytes to resume.
#[test]
fn a_partial_file_of_another_host_is_not_superseded_by_a_file_at_its_path() {
    let Some(env) = pg_env() else { return };
    env.write("big.csv", big_csv("OLD", 40_000));
    let mut first = Bg::spawn(&env, &["--chunk-size", "50", "-j", "1", "big.csv"]);
    wait_part_way(&env, &mut first);
    first.signal(libc::SIGKILL);
    drop(first.wait());
    env.database.execute(
        "UPDATE import_runs SET host = 'elsewhere'; UPDATE import_files SET real_path = NULL",
    );
    let partial: i64 = env.one("SELECT count(*) FROM dropship_purchases");

    env.write("big.csv", csv(&[line("NEW-1")]));
    let here = env.run(&["big.csv"]);
    here.expect_code(0);
    assert_eq!(here.file_status("big.csv"), "imported");
    let states: Vec<String> = env.column("SELECT state FROM import_files ORDER BY id");
    assert_eq!(states, ["in_progress", "imported"], "{}", here.stdout);
    assert_eq!(env.count("dropship_purchases"), partial + 1);
}

/// Two runs meet the same order while one of them reads a file that then
/// fails: the order ends with the other run's file, as if the failed file
/// had never been read, and each run's totals say so; under `skip` and
/// `update`.
#[test]
fn an_order_two_runs_meet_goes_to_the_file_that_did_not_fail() {
    let Some(env) = pg_env() else { return };
    for mode in ["skip", "update"] {
        let env = if mode == "skip" {
            &env
        } else {
            &Env::on(Backend::Postgres)
        };
        // The failing file: the shared order first, two bad rows at its end.
        let mut lines = vec![line("SHARED").set("SKU", "FROM-FAILING")];
        lines.extend((1..40_000).map(|i| line(&format!("A-{i:06}"))));
        lines.push(line("BAD-1").set("Qty", "x"));
        lines.push(line("BAD-2").set("Qty", "y"));
        env.write("failing.csv", csv(&lines));
        env.write(
            "good.csv",
            csv(&[line("SHARED").set("SKU", "FROM-GOOD"), line("OTHER")]),
        );
        let dup = ["--on-duplicate", mode];
        let mut failing = Bg::spawn(
            env,
            &[
                "--chunk-size",
                "50",
                "-j",
                "1",
                "--max-errors",
                "1",
                "failing.csv",
            ],
        );
        let db = &env.database;
        poll_while_alive(&mut failing, || {
            db.try_query("SELECT 1 FROM dropship_purchases WHERE kode_pesanan = 'SHARED'")
                .is_ok_and(|rows| !rows.is_empty())
        });
        let good = env.run(&[&["good.csv"][..], &dup].concat());
        good.expect_code(0);
        let failed = failing.wait();
        failed.expect_code(3);
        assert_eq!(failed.file_status("failing.csv"), "failed");

        assert_eq!(env.orders(), ["OTHER", "SHARED"], "{mode}");
        assert_eq!(env.skus("SHARED"), ["FROM-GOOD"], "{mode}");
        let good_run = good.json["run_id"].as_i64().expect("run id");
        let totals: Vec<i64> = env.column(&format!(
            "SELECT n FROM (SELECT 1 k, rows_imported n FROM import_runs WHERE id = {good_run}
             UNION ALL SELECT 2, rows_duplicate FROM import_runs WHERE id = {good_run}
             UNION ALL SELECT 3, orders_created + orders_updated FROM import_runs
                       WHERE id = {good_run}) t ORDER BY k"
        ));
        assert_eq!(totals, [2, 0, 2], "{mode}: the good run's totals");
        let file: Vec<i64> = env.column(
            "SELECT n FROM (SELECT 1 k, rows_imported n FROM import_files WHERE path = 'good.csv'
             UNION ALL SELECT 2, rows_duplicate FROM import_files WHERE path = 'good.csv') t
             ORDER BY k",
        );
        assert_eq!(file, [2, 0], "{mode}: the good file's counts");
        let leftovers: i64 = env.one(
            "SELECT (SELECT count(*) FROM import_waiting_rows)
                  + (SELECT count(*) FROM import_replaced_orders)",
        );
        assert_eq!(leftovers, 0, "{mode}");
    }
}

/// What a clean import leaves, as text in a fixed order, without what
/// tells runs and files apart (ids, and the line an order was met at in
/// the file that owns it): the orders, the lines, and the rejects of
/// imported files with their paths.
fn image(env: &Env) -> [Vec<String>; 3] {
    [
        env.column(
            "SELECT (to_jsonb(p) - 'import_file_id' - 'source_line')::text
             FROM dropship_purchases p ORDER BY 1",
        ),
        env.column(
            "SELECT (to_jsonb(l) - 'id' - 'import_file_id' - 'source_line')::text
             FROM dropship_purchase_details l ORDER BY 1",
        ),
        env.column(
            "SELECT concat_ws(' ', f.path, r.line, r.column_name, r.value, r.reason)
             FROM import_rejects r JOIN import_files f ON f.id = r.file_id
             WHERE f.state = 'imported' ORDER BY 1",
        ),
    ]
}

/// Up to four runs over one folder at once, some of them killed (SIGKILL)
/// at random moments, then run again until every file is in: the tables
/// hold exactly what one uninterrupted run writes, and every committed row
/// is counted once, in the run that committed it. `DROPSHIP_SOAK_TRIALS`,
/// `DROPSHIP_SOAK_ROWS` and `DROPSHIP_SOAK_SEED` scale and repeat it
/// (`tests/soak.sh`).
#[test]
fn runs_sharing_a_folder_killed_at_random_end_with_one_clean_runs_rows() {
    let Some(clean) = pg_env() else { return };
    let trials = common::env_number("DROPSHIP_SOAK_TRIALS", 2);
    let rows = common::env_number("DROPSHIP_SOAK_ROWS", 12_000) as usize;
    let seed = common::env_number("DROPSHIP_SOAK_SEED", 7);
    let spec = common::generate::Spec {
        files: 8,
        rows,
        seed,
        bad_share: 0.002,
        dup_share: 0.05,
    };
    let args = ["--chunk-size", "200", "-j", "2", "files"];
    common::generate::generate(&clean.path("files"), &spec, false).expect("generate");
    let first = clean.run(&args);
    assert!(matches!(first.code, 0 | 3), "{}", first.stderr);
    let expected = image(&clean);

    let mut all_kills = 0;
    for trial in 0..trials {
        let env = Env::on(Backend::Postgres);
        common::generate::generate(&env.path("files"), &spec, false).expect("generate");
        let mut rng = common::Rng::new(seed * 1000 + trial);
        let mut kills = 0;
        for round in 0.. {
            assert!(round < 40, "trial {trial}: not done after 40 rounds");
            let runs: Vec<Bg> = (0..2 + rng.below(3))
                .map(|_| Bg::spawn(&env, &args))
                .collect();
            // The first rounds kill some of their runs; later ones let
            // every run end.
            let mut killed = 0;
            if round < 3 {
                for run in &runs {
                    if rng.below(2) == 0 {
                        std::thread::sleep(Duration::from_millis(rng.below(700)));
                        // SAFETY: kill(2) on the pid of our own unreaped child.
                        if unsafe { libc::kill(run.pid(), libc::SIGKILL) } == 0 {
                            killed += 1;
                        }
                    }
                }
            }
            let mut all_in = killed == 0;
            for run in runs {
                let done = run.wait();
                if done.code == -1 || done.code == 137 {
                    continue; // killed
                }
                assert!(
                    matches!(done.code, 0 | 3),
                    "trial {trial} round {round}: exit {}: {}",
                    done.code,
                    done.stderr
                );
                done.assert_counts_add_up();
                all_in &= done.json["per_file"]
                    .as_array()
                    .is_some_and(|files| files.iter().all(|f| f["status"] != "interrupted"));
            }
            kills += killed;
            if all_in && round >= 1 {
                break;
            }
        }
        let last = env.run(&args);
        last.expect_code(0);
        assert_eq!(
            last.n("/files/skipped"),
            spec.files as u64,
            "{}",
            last.stdout
        );

        let got = image(&env);
        for (i, what) in ["orders", "lines", "rejects"].iter().enumerate() {
            assert_eq!(
                got[i].len(),
                expected[i].len(),
                "trial {trial} ({kills} runs killed): {what}"
            );
            assert!(
                got[i] == expected[i],
                "trial {trial} ({kills} killed): {what} differ"
            );
        }
        let counted: Vec<i64> = env.column(
            "SELECT n FROM (
                 SELECT 1 k, sum(rows_imported)::bigint - (SELECT count(*)
                     FROM dropship_purchase_details) n FROM import_runs
                 UNION ALL SELECT 2, sum(rows_rejected)::bigint - (SELECT count(*)
                     FROM import_rejects) FROM import_runs) t ORDER BY k",
        );
        assert_eq!(
            counted,
            [0, 0],
            "trial {trial}: rows counted once, by the runs"
        );
        all_kills += kills;
    }
    assert!(
        all_kills > 0,
        "no run was killed: try another DROPSHIP_SOAK_SEED"
    );
}

#[test]
fn runs_on_two_schemas_do_not_wait_for_each_other() {
    let Some(env) = pg_env() else { return };
    let big = big_csv("DS", 40_000);
    env.write("big.csv", &big);
    let (first, _) = start_and_freeze(&env, "big.csv");

    // The same file into another schema of the same database, while the
    // first run is frozen holding its claim.
    let other = Env::on(Backend::Postgres);
    other.write("big.csv", &big);
    let run = other.run(&["big.csv"]);
    run.expect_code(0);
    assert_eq!(run.file_status("big.csv"), "imported");
    assert_eq!(other.count("dropship_purchase_details"), 40_000);

    first.signal(libc::SIGCONT);
    first.wait().expect_code(0);
    assert_eq!(env.count("dropship_purchase_details"), 40_000);
}

// ---------------------------------------------------------------------------
// The password

/// A login role with a password that may create schemas in the test
/// database; dropped (with what it owns) on drop.
struct Role {
    name: String,
    password: String,
}

impl Role {
    fn new() -> Role {
        let name = unique_name("pgtests_pw");
        let password = format!("Pw-{}-zq9Secret", std::process::id());
        pg_admin_exec(&format!(
            "CREATE ROLE {} LOGIN PASSWORD {};
             DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO %I',
                                        current_database(), {}); END $$",
            ident(&name),
            lit(&password),
            lit(&name)
        ));
        Role { name, password }
    }

    /// The admin URL with this role and its password as the user.
    fn url(&self) -> String {
        let admin = common::db::pg_admin_url().expect("PostgreSQL reachable");
        let (scheme, rest) = admin.split_once("://").expect("a URL");
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        format!("{scheme}://{}:{}@{rest}", self.name, self.password)
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let (r, name) = (ident(&self.name), self.name.clone());
        let _ = std::panic::catch_unwind(|| {
            pg_admin_exec(&format!(
                "DROP OWNED BY {r} CASCADE;
                 DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I',
                                            current_database(), {}); END $$;
                 DROP ROLE {r}",
                lit(&name)
            ))
        });
    }
}

#[test]
fn the_password_never_shows() {
    let Some(env) = pg_env() else { return };
    let role = Role::new();
    let schema = pg(&env).schema.clone();
    let url = role.url();
    let run_with = |args: &[&str]| -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--db".into(),
            url.clone(),
            "--schema".into(),
            schema.clone(),
        ]);
        let out = env.cmd().args(&all).output().expect("run dropship-import");
        Run::of(all, out)
    };
    let hidden = |what: &str, text: &str| {
        assert!(
            !text.contains(&role.password),
            "{what} shows the password:\n{text}"
        );
    };

    env.write(
        "a.csv",
        csv(&[line("DS-1"), line("DS-2").set("Qty", "two")]),
    );
    let run = run_with(&["--progress", "log", "a.csv"]);
    run.expect_code(3);
    hidden("import stdout", &run.stdout);
    hidden("import stderr", &run.stderr);
    let database = run.json["database"].as_str().unwrap_or_default();
    hidden("summary database", database);
    assert!(database.contains("127.0.0.1"), "database: {database:?}");
    let options: Vec<String> = env.column("SELECT options FROM import_runs");
    hidden("import_runs.options", &options.join("\n"));
    let everything = env.query("SELECT * FROM import_runs");
    hidden("import_runs", &format!("{everything:?}"));

    let run_id = run.json["run_id"].to_string();
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["status", run_id.as_str()],
        vec!["status", run_id.as_str(), "--json"],
        vec!["recommend", "a.csv"],
    ] {
        let out = run_with(&args);
        out.expect_code(0);
        hidden(&format!("{args:?} stdout"), &out.stdout);
        hidden(&format!("{args:?} stderr"), &out.stderr);
    }

    // An error message about the connection does not show it either.
    let bad = format!(
        "postgres://{}:{}@127.0.0.1:1/test",
        role.name, role.password
    );
    let out = env
        .cmd()
        .args(["--db", &bad, "--schema", &schema, "a.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    hidden("connection error", &String::from_utf8_lossy(&out.stderr));
    hidden(
        "connection error stdout",
        &String::from_utf8_lossy(&out.stdout),
    );
}

// ---------------------------------------------------------------------------
// Naming the database

#[test]
fn dropship_db_names_the_database_when_nothing_else_does() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1")]));
    let out = env
        .cmd()
        .env("DROPSHIP_DB", &pg(&env).url)
        .args(["--schema", &pg(&env).schema, "a.csv"])
        .output()
        .unwrap();
    let run = Run::of(vec!["DROPSHIP_DB=...".into()], out);
    run.expect_code(0);
    assert_eq!(env.orders(), ["DS-1"]);
    assert!(!env.path("dropship.db").exists());
}

#[test]
fn a_url_in_the_config_file_is_used() {
    let Some(env) = pg_env() else { return };
    env.write(
        "importer.toml",
        format!(
            "[database]\nurl = \"{}\"\nschema = \"{}\"\n",
            pg(&env).url,
            pg(&env).schema
        ),
    );
    env.write("a.csv", csv(&[line("DS-1")]));
    let out = env.cmd().arg("a.csv").output().unwrap();
    Run::of(vec!["a.csv".into()], out).expect_code(0);
    assert_eq!(env.orders(), ["DS-1"]);
    assert!(!env.path("dropship.db").exists());
}

#[test]
fn the_key_value_form_names_the_database() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1")]));
    let out = env
        .cmd()
        .args([
            "--db",
            "host=127.0.0.1 port=5432 dbname=test user=root",
            "--schema",
            &pg(&env).schema,
            "a.csv",
        ])
        .output()
        .unwrap();
    Run::of(vec!["key=value".into()], out).expect_code(0);
    assert_eq!(env.orders(), ["DS-1"]);
}

// ---------------------------------------------------------------------------
// status and recommend

#[test]
fn status_and_recommend_read_the_runs_in_postgres() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1")]));
    let first = env.run(&["a.csv"]);
    first.expect_code(0);
    env.write(
        "b.csv",
        csv(&[line("DS-2"), line("DS-3").set("Qty", "two")]),
    );
    let second = env.run(&["b.csv"]);
    second.expect_code(3);

    let list = env.run(&["status", "--json"]);
    list.expect_code(0);
    let runs = list.json.as_array().expect("a list of runs").clone();
    assert_eq!(runs.len(), 2, "{}", list.stdout);
    assert_eq!(runs[0]["id"], second.json["run_id"]);
    assert_eq!(runs[1]["id"], first.json["run_id"]);
    assert_eq!(runs[0]["rows"], second.json["rows"]);

    let text = env.run(&["status"]);
    text.expect_code(0);
    assert!(text.stdout.contains("partial"), "{}", text.stdout);

    let id = second.json["run_id"].to_string();
    let one = env.run(&["status", &id]);
    one.expect_code(0);
    assert!(
        one.stdout.starts_with(&format!("run {id}: partial")),
        "{}",
        one.stdout
    );
    assert!(one.stdout.contains("b.csv"), "{}", one.stdout);
    let detail = env.run(&["status", &id, "--json"]);
    detail.expect_code(0);
    assert_eq!(detail.json["run"]["id"], second.json["run_id"]);
    assert_eq!(detail.json["files"][0]["state"], "imported");

    let missing = env.run(&["status", "99"]);
    missing.expect_code(1);

    env.write("c.csv", csv(&[line("DS-4")]));
    let advice = env.run(&["recommend", "--json", "c.csv"]);
    advice.expect_code(0);
    assert!(advice.json.is_object(), "{}", advice.stdout);
}

// ---------------------------------------------------------------------------
// Tables and rows

#[test]
fn columns_have_the_postgres_types_of_the_spec() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1")]));
    env.run(&["a.csv"]).expect_code(0);
    let rows = env.query(&format!(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = {} ORDER BY 1, 2",
        lit(&pg(&env).schema)
    ));
    let ty = |table: &str, column: &str| -> String {
        rows.iter()
            .find(|r| r[0].as_deref() == Some(table) && r[1].as_deref() == Some(column))
            .and_then(|r| r[2].clone())
            .unwrap_or_else(|| panic!("no column {table}.{column}"))
    };
    for table in ["dropship_purchases", "dropship_purchase_details"] {
        let sen: Vec<&Vec<Option<String>>> = rows
            .iter()
            .filter(|r| r[0].as_deref() == Some(table))
            .filter(|r| r[1].as_deref().is_some_and(|c| c.ends_with("_sen")))
            .collect();
        assert!(!sen.is_empty(), "{table} has no _sen column");
        for r in sen {
            assert_eq!(r[2].as_deref(), Some("bigint"), "{table}.{:?}", r[1]);
        }
    }
    assert_eq!(ty("dropship_purchase_details", "qty"), "integer");
    assert_eq!(ty("dropship_purchase_details", "id"), "bigint");
    for (table, column) in [
        ("dropship_purchases", "waktu_pesanan_terbuat"),
        ("dropship_purchases", "waktu_pengiriman"),
        ("import_runs", "started_at"),
        ("import_runs", "finished_at"),
        ("import_files", "started_at"),
    ] {
        assert_eq!(
            ty(table, column),
            "timestamp with time zone",
            "{table}.{column}"
        );
    }
    for (table, column) in [
        ("import_runs", "id"),
        ("import_files", "id"),
        ("import_runs", "rows_read"),
    ] {
        assert_eq!(ty(table, column), "bigint", "{table}.{column}");
    }
    // The same instant as SPEC's text.
    let at: String = env.one(
        "SELECT to_char(waktu_pesanan_terbuat AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
         FROM dropship_purchases",
    );
    assert_eq!(at, "2025-01-01 03:00:00");
}

#[test]
fn a_rerun_skips_the_files_already_imported() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.run(&["a.csv"]).expect_code(0);
    let before = env.table_counts();
    env.write("b.csv", csv(&[line("DS-3")]));
    let run = env.run(&["a.csv", "b.csv"]);
    run.expect_code(0);
    assert_eq!(run.file_status("a.csv"), "skipped");
    assert_eq!(run.file_status("b.csv"), "imported");
    assert_eq!(env.orders(), ["DS-1", "DS-2", "DS-3"]);
    let run = env.run(&["a.csv", "b.csv"]);
    run.expect_code(0);
    assert!(run.json["run_id"].is_null(), "{}", run.stdout);
    assert_eq!(env.count("dropship_purchase_details"), before[1] + 1);
}

#[test]
fn a_failed_file_leaves_the_data_tables_as_if_never_read() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1").set("SKU", "OLD")]));
    env.run(&["a.csv"]).expect_code(0);
    let dump = |env: &Env| {
        (
            env.query("SELECT * FROM dropship_purchases ORDER BY kode_pesanan"),
            env.query("SELECT * FROM dropship_purchase_details ORDER BY id"),
        )
    };
    let before = dump(&env);
    // Committed one row at a time, an update of DS-1 included, then failed.
    env.write(
        "b.csv",
        csv(&[
            line("DS-1").set("SKU", "NEW"),
            line("DS-2"),
            line("DS-3").set("Qty", "two"),
            line("DS-4"),
            line("DS-5").set("Qty", "two"),
        ]),
    );
    let run = env.run(&[
        "--chunk-size",
        "1",
        "--max-errors",
        "1",
        "--on-duplicate",
        "update",
        "b.csv",
    ]);
    run.expect_code(3);
    assert_eq!(run.file_status("b.csv"), "failed");
    assert_eq!(dump(&env), before);
    let reasons: Vec<String> = env.rejects().into_iter().map(|r| r.reason).collect();
    assert_eq!(reasons, ["invalid_integer", "invalid_integer"]);
}

#[test]
fn on_duplicate_update_replaces_the_order_and_its_lines() {
    let Some(env) = pg_env() else { return };
    env.write(
        "a.csv",
        csv(&[
            line("DS-1").set("SKU", "A-1"),
            line("DS-1").set("SKU", "A-2").set("No", "2"),
        ]),
    );
    env.run(&["a.csv"]).expect_code(0);
    env.write(
        "b.csv",
        csv(&[line("DS-1")
            .set("SKU", "B-1")
            .set("Status Pesanan Terakhir", "Batal")
            .set("Total Transaksi", "1.5")]),
    );
    let run = env.run(&["--on-duplicate", "update", "b.csv"]);
    run.expect_code(0);
    assert_eq!(run.n("/orders/updated"), 1);
    assert_eq!(run.file_rows("b.csv"), [1, 1, 0, 0, 0, 0]);
    assert_eq!(env.skus("DS-1"), ["B-1"]);
    assert_eq!(
        env.order_text("DS-1", "status_pesanan_terakhir").as_deref(),
        Some("Batal")
    );
    assert_eq!(env.order_int("DS-1", "total_transaksi_sen"), Some(150));
    let b_id: i64 = env.one("SELECT id FROM import_files WHERE path LIKE '%b.csv'");
    assert_eq!(env.order_int("DS-1", "import_file_id"), Some(b_id));
}

#[test]
fn the_summary_names_the_database_without_secrets_and_the_run_records_the_host() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1")]));
    let run = env.run(&["a.csv"]);
    run.expect_code(0);
    let database = run.json["database"].as_str().unwrap_or_default();
    assert!(database.starts_with("postgres"), "{database:?}");
    let (host, pid): (String, i64) = {
        let r = &env.query("SELECT host, pid FROM import_runs")[0];
        (String::from_cell(&r[0]), i64::from_cell(&r[1]))
    };
    assert!(!host.is_empty());
    assert!(pid > 0);
}

// ---------------------------------------------------------------------------
// The harness itself

#[test]
fn the_harness_reads_postgres_values_as_sqlite_text_and_drops_its_schema() {
    let Some(env) = pg_env() else { return };
    let schema = pg(&env).schema.clone();
    assert!(schema.len() <= 63, "{schema}");
    assert_eq!(schema, schema.to_lowercase());
    env.database.execute(&format!(
        "CREATE SCHEMA {s};
         CREATE TABLE {s}.t (at timestamptz, n bigint, q integer, x text, b boolean);
         INSERT INTO {s}.t VALUES ('2025-01-01T10:00:00+07:00', 9150000, 2, NULL, true),
                                  ('2025-01-02T14:30:00+08:00', -5, 1, 'it''s', false)",
        s = ident(&schema)
    ));
    assert_eq!(
        env.query("SELECT at, n, q, x FROM t ORDER BY n DESC"),
        [
            [
                Some("2025-01-01T10:00:00+07:00".to_string()),
                Some("9150000".to_string()),
                Some("2".to_string()),
                None
            ],
            [
                Some("2025-01-02T13:30:00+07:00".to_string()),
                Some("-5".to_string()),
                Some("1".to_string()),
                Some("it's".to_string())
            ]
        ]
    );
    assert_eq!(
        env.column::<bool>("SELECT b FROM t ORDER BY n"),
        [false, true]
    );
    assert_eq!(env.count("t"), 2);
    assert!(
        env.database
            .try_query("SELECT * FROM no_such_table")
            .is_err()
    );
    assert!(!env.database.exists(), "no import_runs table yet");

    drop(env);
    let admin = Db::postgres();
    let left: i64 = admin.one(&format!(
        "SELECT count(*) FROM pg_namespace WHERE nspname = {}",
        lit(&schema)
    ));
    assert_eq!(left, 0, "schema {schema} left behind");
}

/// Schema version 1 staged each file in a table of its own until it was
/// complete. A file a killed run left part-way there is rolled back by the
/// migration to version 2 (its staging table dropped, the rows its run
/// counted moved to failed) and read again from the start: nothing is lost
/// or doubled.
#[test]
fn a_partial_file_staged_by_schema_version_1_is_read_again_after_the_migration() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.run(&["a.csv"]).expect_code(0);
    // What version 1 left when killed after the first row: the file
    // `in_progress` with that row staged, nothing in the data tables.
    let id: i64 = env.one("SELECT max(id) FROM import_files");
    let run: i64 = env.one("SELECT max(id) FROM import_runs");
    env.database.execute(&format!(
        "DROP TABLE import_replaced_orders, import_replaced_lines, import_waiting_rows;
         ALTER TABLE import_file_runs DROP COLUMN orders_created, DROP COLUMN orders_updated,
             DROP COLUMN orders_duplicate;
         CREATE TABLE import_staged_{id} (run_id bigint, source_line bigint, kode_pesanan text);
         INSERT INTO import_staged_{id} VALUES ({run}, 2, 'DS-1');
         DELETE FROM dropship_purchase_details; DELETE FROM dropship_purchases;
         UPDATE import_files SET state = 'in_progress', rows_read = 1, rows_imported = 1,
             bytes_committed = 40, rows_committed = 1, line_committed = 2, finished_at = NULL
         WHERE id = {id};
         DELETE FROM import_file_runs;
         INSERT INTO import_file_runs VALUES ({id}, {run}, 1, 0, 0, 0);
         UPDATE import_runs SET state = 'interrupted', rows_read = 1, rows_imported = 1;
         {V2_KEYS}
         UPDATE import_schema_version SET version = 1;"
    ));
    let again = env.run(&["a.csv"]);
    again.expect_code(0);
    assert_eq!(again.file_status("a.csv"), "imported");
    assert!(again.file("a.csv")["resumed_from_line"].is_null());
    assert_eq!(again.rows(), [2, 2, 0, 0, 0, 0]);
    assert_eq!(env.orders(), ["DS-1", "DS-2"]);
    assert_eq!(env.count("dropship_purchase_details"), 2);
    let schema = lit(&pg(&env).schema);
    let staged: i64 = env.one(&format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = {schema}
         AND tablename LIKE 'import\\_staged\\_%'"
    ));
    assert_eq!(staged, 0, "a staging table is left");
    let old: Vec<String> = env.column(&format!(
        "SELECT state || ': ' || error FROM import_files WHERE id = {id}"
    ));
    assert_eq!(
        old,
        ["failed: rolled back: left part-way by a killed run of an older dropship-import"]
    );
    let killed: Vec<i64> = env.column(&format!(
        "SELECT n FROM (SELECT 1 AS k, rows_imported AS n FROM import_runs WHERE id = {run}
         UNION ALL SELECT 2, rows_failed FROM import_runs WHERE id = {run}) t ORDER BY k"
    ));
    assert_eq!(
        killed,
        [0, 1],
        "the killed run's row still counts it imported"
    );
    let version: i64 = env.one("SELECT max(version)::bigint FROM import_schema_version");
    assert_eq!(version, 6);
}

/// What schema versions 1 and 2 had that version 3 changed: order keys in
/// the database's collation, lines keyed by `id` with an index by order
/// (and nothing of versions 5 and 6).
const V2_KEYS: &str = r#"
    ALTER TABLE import_runs DROP COLUMN lease_until, DROP COLUMN backend_pid,
        DROP COLUMN backend_start, DROP COLUMN planned_files, DROP COLUMN planned_bytes,
        DROP COLUMN skipped_bytes;
    ALTER TABLE import_file_runs DROP COLUMN rows_read, DROP COLUMN rows_failed,
        DROP COLUMN bytes_from, DROP COLUMN line_from, DROP COLUMN bytes_committed,
        DROP COLUMN rows_committed, DROP COLUMN line_committed;
    ALTER TABLE import_files DROP COLUMN claim;
    DROP INDEX import_file_runs_by_run;
    ALTER TABLE dropship_purchases ALTER COLUMN kode_pesanan TYPE text COLLATE "default";
    ALTER TABLE dropship_purchase_details ALTER COLUMN kode_pesanan TYPE text COLLATE "default",
        DROP CONSTRAINT dropship_purchase_details_pkey, ADD PRIMARY KEY (id);
    CREATE INDEX dropship_purchase_details_by_order ON dropship_purchase_details(kode_pesanan);"#;

/// A schema of version 2 with rows in it: the migration keeps every row,
/// makes order keys compare as bytes and keys lines by order, and the next
/// run goes on as before.
#[test]
fn a_schema_of_version_2_keeps_its_rows_and_compares_order_keys_as_bytes() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-1"), line("DS-2")]));
    env.run(&["a.csv"]).expect_code(0);
    let v2 = V2_KEYS.to_string()
        + "ALTER TABLE import_replaced_orders ALTER COLUMN kode_pesanan TYPE text COLLATE \"default\";
           ALTER TABLE import_replaced_lines ALTER COLUMN kode_pesanan TYPE text COLLATE \"default\";
           ALTER TABLE import_waiting_rows ALTER COLUMN kode_pesanan TYPE text COLLATE \"default\";
           UPDATE import_schema_version SET version = 2;";
    env.database.execute(&v2);
    env.write("b.csv", csv(&[line("DS-2"), line("DS-3")]));
    let next = env.run(&["b.csv"]);
    next.expect_code(0);
    assert_eq!(next.rows(), [2, 1, 0, 1, 0, 0]);
    assert_eq!(env.orders(), ["DS-1", "DS-2", "DS-3"]);
    assert_eq!(env.count("dropship_purchase_details"), 3);
    let schema = lit(&pg(&env).schema);
    let collations: Vec<String> = env.column(&format!(
        "SELECT table_name || ': ' || coalesce(collation_name, 'default')
         FROM information_schema.columns
         WHERE table_schema = {schema} AND column_name = 'kode_pesanan' ORDER BY table_name"
    ));
    assert_eq!(
        collations,
        [
            "dropship_purchase_details: C",
            "dropship_purchases: C",
            "import_replaced_lines: C",
            "import_replaced_orders: C",
            "import_waiting_rows: C",
        ]
    );
    let indexes: Vec<String> = env.column(&format!(
        "SELECT indexname || ': ' || indexdef FROM pg_indexes
         WHERE schemaname = {schema} AND tablename = 'dropship_purchase_details'"
    ));
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(
        indexes[0].starts_with("dropship_purchase_details_pkey: ")
            && indexes[0].ends_with("(kode_pesanan, id)"),
        "{indexes:?}"
    );
    let version: i64 = env.one("SELECT max(version)::bigint FROM import_schema_version");
    assert_eq!(version, 6);
    let cache: i64 = env.one(&format!(
        "SELECT cache_size FROM pg_sequences
         WHERE schemaname = {schema} AND sequencename = 'dropship_purchase_details_id_seq'"
    ));
    assert_eq!(cache, 1000);
}

/// Who holds a file's orders is read over ranges of the orders' key; a
/// range that spans many orders of other files is asked order by order.
/// Either way each order of the tables is found, and only those.
#[test]
fn orders_held_are_found_whether_their_range_is_crowded_or_not() {
    let Some(env) = pg_env() else { return };
    let first: Vec<_> = (100..200).map(|n| line(&format!("DS-{n}"))).collect();
    env.write("a.csv", csv(&first));
    env.run(&["a.csv"]).expect_code(0);
    // DS-100 .. DS-300 holds the hundred orders of a.csv: crowded.
    env.write(
        "b.csv",
        csv(&[
            line("DS-100"),
            line("DS-150"),
            line("DS-199"),
            line("DS-300"),
        ]),
    );
    let crowded = env.run(&["b.csv"]);
    crowded.expect_code(0);
    assert_eq!(crowded.rows(), [4, 1, 0, 3, 0, 0]);
    // DS-199 .. DS-400 holds only two orders.
    env.write("c.csv", csv(&[line("DS-199"), line("DS-400")]));
    let sparse = env.run(&["c.csv"]);
    sparse.expect_code(0);
    assert_eq!(sparse.rows(), [2, 1, 0, 1, 0, 0]);
    assert_eq!(env.orders().len(), 102);
    assert_eq!(env.count("dropship_purchase_details"), 102);
}

both! {
    /// A dry run made while a run imports into the same database (here on
    /// either database, with the helpers above) says so, naming that run,
    /// and does not take the file that run is reading for a killed run's.
    fn a_dry_run_made_during_a_run_names_that_run(b) {
        let env = Env::on(b);
        env.write("seed.csv", csv(&[line("DS-0")]));
        env.run(&["seed.csv"]).expect_code(0);
        env.write("big.csv", big_csv("BIG", 100_000));
        let (bg, live) = start_and_freeze(&env, "big.csv");
        let dry = env.run(&["--dry-run", "big.csv"]);
        bg.signal(libc::SIGCONT);
        let notes = dry.json["recommendations"]
            .as_array()
            .expect("recommendations")
            .clone();
        assert_eq!(notes.len(), 1, "{}", dry.stdout);
        let note = notes[0].as_str().unwrap_or_default();
        assert!(
            note.contains(&format!("run {live} is importing into this database now")),
            "{note}"
        );
        bg.wait().expect_code(0);
    }
}

/// Two files of the same orders read at once: one file's rows wait on the
/// other's orders while both are read, well past what is sent at once, and
/// a few rows of each are rejected. Waiting rows and rejects go with later
/// sends than the orders and lines written beside them; every one of them
/// still lands where it belongs.
#[test]
fn rows_that_wait_and_rejects_reach_the_tables_across_many_sends() {
    // Under update each order met is handed over on its own: fewer of them.
    for (on_duplicate, files, read) in [
        ("skip", ["a.csv", "b.csv"], 40_006),
        ("update", ["a.csv", "c.csv"], 21_006),
    ] {
        let Some(env) = pg_env() else { return };
        let file = |name: &str, sku: &str, orders: usize| {
            let mut lines: Vec<_> = (0..orders)
                .map(|i| line(&format!("W-{i:05}")).set("SKU", sku))
                .collect();
            for at in [1, orders / 2, orders - 2] {
                lines.insert(at, line(&format!("BAD-{sku}-{at}")).set("Qty", "two"));
            }
            env.write(name, csv(&lines));
        };
        file("a.csv", "SKU-A", 20_000);
        file("b.csv", "SKU-B", 20_000);
        file("c.csv", "SKU-C", 1_000);
        let args = [
            "-j",
            "2",
            "--commit-interval",
            "1h",
            "--on-duplicate",
            on_duplicate,
        ];
        let run = env.run(&[&args[..], &files[..]].concat());
        run.expect_code(3);
        let [all, imported, rejected, duplicate, filtered, failed] = run.rows();
        assert_eq!(all, read, "{on_duplicate}");
        assert_eq!((rejected, filtered, failed), (6, 0, 0), "{on_duplicate}");
        assert_eq!(imported + duplicate, read - 6, "{on_duplicate}");
        // Each order of c.csv is met again in a.csv.
        let updated = if on_duplicate == "update" { 1_000 } else { 0 };
        assert_eq!(run.n("/orders/updated"), updated, "{on_duplicate}");
        let run_id = run.json["run_id"].as_i64().expect("run_id");
        let rejects: i64 = env.one(&format!(
            "SELECT count(*) FROM import_rejects WHERE run_id = {run_id}"
        ));
        assert_eq!(rejects, 6, "{on_duplicate}");
        assert_eq!(env.count("import_waiting_rows"), 0, "{on_duplicate}");
        assert_eq!(env.orders().len(), 20_000, "{on_duplicate}");
        assert_eq!(
            env.count("dropship_purchase_details"),
            20_000,
            "{on_duplicate}"
        );
        env.assert_orders_belong_to_one_imported_file(on_duplicate == "update");
    }
}

/// Each order's two lines in consecutive chunks of 100 rows, many chunks
/// handed over together: rows are sent whenever the next chunk would
/// overflow what is held, between chunks of one batch too, and the chunk
/// after such a send still finds its orders as this file's own.
#[test]
fn an_order_whose_first_line_was_just_sent_keeps_its_second() {
    let Some(env) = pg_env() else { return };
    let mut lines = Vec::new();
    for block in 0..250 {
        for sku in ["SKU-1", "SKU-2"] {
            lines.extend(
                (0..100).map(|i| line(&format!("O-{:05}", block * 100 + i)).set("SKU", sku)),
            );
        }
    }
    env.write("a.csv", csv(&lines));
    let run = env.run(&["--chunk-size", "100", "--commit-interval", "1h", "a.csv"]);
    run.expect_code(0);
    assert_eq!(run.rows(), [50_000, 50_000, 0, 0, 0, 0]);
    assert_eq!(env.orders().len(), 25_000);
    assert_eq!(env.count("dropship_purchase_details"), 50_000);
}

/// Whether `dropship_purchase_details` has its primary key, on the order
/// and the line's id, as the schema creates it.
fn line_key(env: &Env) -> bool {
    let keys: Vec<String> = env.column(&format!(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = ({}||'.dropship_purchase_details')::regclass AND contype = 'p'",
        lit(&ident(&pg(env).schema))
    ));
    match keys.as_slice() {
        [] => false,
        [key] if key == "PRIMARY KEY (kode_pesanan, id)" => true,
        other => panic!("unexpected line key: {other:?}"),
    }
}

/// Loading into an empty line table, the line key is built once the rows
/// are in (one sort) rather than kept up row by row; a run killed before
/// that leaves it out, the next run builds it, and a load into a table
/// that holds lines keeps it up. A run under `update`, which finds lines
/// by it, builds it first.
#[test]
fn the_line_key_is_built_when_a_load_into_an_empty_table_ends() {
    let Some(env) = pg_env() else { return };
    env.write("big.csv", big_csv("DS", 40_000));
    let (killed, _) = start_and_freeze(&env, "big.csv");
    assert!(!line_key(&env), "the key was kept up during the load");
    drop(killed);
    assert!(!line_key(&env));

    let resumed = env.run(&["big.csv"]);
    resumed.expect_code(0);
    assert!(line_key(&env), "{}", resumed.stderr);
    assert_eq!(env.count("dropship_purchase_details"), 40_000);

    // Into a table that holds lines the key stays.
    env.write("more.csv", big_csv("MORE", 40_000));
    let (more, _) = start_and_freeze(&env, "more.csv");
    assert!(
        line_key(&env),
        "the key was dropped from a table with lines"
    );
    more.signal(libc::SIGCONT);
    more.wait().expect_code(0);
    assert_eq!(env.count("dropship_purchase_details"), 80_000);

    // A run under `update` finds lines by the key: it builds it first.
    env.database.execute(
        "ALTER TABLE dropship_purchase_details DROP CONSTRAINT dropship_purchase_details_pkey",
    );
    env.write("new.csv", csv(&[line("DS-000001").set("SKU", "SKU-NEW")]));
    env.run(&["--on-duplicate", "update", "new.csv"])
        .expect_code(0);
    assert!(line_key(&env));
    assert_eq!(env.skus("DS-000001"), ["SKU-NEW"]);
}

/// A file that fails while a first load leaves the line key out has its
/// lines found by the key, built then; the run goes on with it.
#[test]
fn a_file_that_fails_during_a_first_load_takes_out_its_own_lines() {
    let Some(env) = pg_env() else { return };
    env.write("a.csv", csv(&[line("DS-9")]));
    env.write(
        "b.csv",
        csv(&[
            line("DS-1"),
            line("DS-1").set("No", "2"),
            line("DS-2").set("Qty", "two"),
            line("DS-3").set("Qty", "two"),
            line("DS-4"),
        ]),
    );
    env.write("c.csv", big_csv("C", 2_000));
    let run = env.run(&[
        "-j",
        "1",
        "--chunk-size",
        "1",
        "--max-errors",
        "1",
        "a.csv",
        "b.csv",
        "c.csv",
    ]);
    run.expect_code(3);
    assert_eq!(run.file_status("b.csv"), "failed");
    assert_eq!(run.file_status("c.csv"), "imported");
    assert!(line_key(&env));
    assert_eq!(env.count("dropship_purchase_details"), 2_001);
    assert!(env.skus("DS-1").is_empty());
    assert_eq!(env.skus("DS-9").len(), 1);
}
