//! Sizes, counts and durations as people read them, and text fitted to a
//! terminal's width (columns counted as characters), for every command's
//! output. Where two outputs write the same quantity differently on purpose
//! (`status` in binary units, `recommend` in SI ones as SPEC.md counts them)
//! there are two functions, named for what they print; tests and users read
//! these texts, so each one stays as it is.

use indicatif::HumanCount;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

/// `512 B`, `24.1 MiB`: binary units, one decimal (`status`).
pub fn binary_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `999 bytes`, `147.2 MB`: SI units as SPEC.md counts them (`MB` = 10^6
/// bytes), one decimal (`recommend`).
pub fn si_size(n: u64) -> String {
    let n_f = n as f64;
    if n < 1000 {
        format!("{n} bytes")
    } else if n_f < 1e6 {
        format!("{:.1} kB", n_f / 1e3)
    } else if n_f < 1e9 {
        format!("{:.1} MB", n_f / 1e6)
    } else {
        format!("{:.1} GB", n_f / 1e9)
    }
}

/// A size limit in the unit it was most likely written in: `100 MiB`,
/// `1 MB`, else `1500 bytes` (`recommend`).
pub fn limit_size(n: u64) -> String {
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{} MB", n / 1_000_000)
    } else {
        format!("{n} bytes")
    }
}

/// A size in the largest unit that writes it exactly: `100 MiB`, `1 TiB`,
/// `50 MB`, `1500 B` (settings and their errors).
pub fn exact_size(n: u64) -> String {
    const UNITS: [(u64, &str); 8] = [
        (TIB, "TiB"),
        (GIB, "GiB"),
        (MIB, "MiB"),
        (KIB, "KiB"),
        (1_000_000_000_000, "TB"),
        (1_000_000_000, "GB"),
        (1_000_000, "MB"),
        (1_000, "KB"),
    ];
    UNITS
        .iter()
        .find(|(unit, _)| n >= *unit && n.is_multiple_of(*unit))
        .map_or_else(
            || format!("{n} B"),
            |(unit, name)| format!("{} {name}", n / unit),
        )
}

/// `12.3 MB/s`: a rate in SI megabytes, one decimal (the progress log).
pub fn si_rate(bytes_per_sec: f64) -> String {
    format!("{:.1} MB/s", bytes_per_sec / 1e6)
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    HumanCount(n).to_string()
}

/// `1 file`, `1234 files`: digits as they are (`status`).
pub fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `1 file`, `1,234 files`: digits grouped in thousands (`recommend`).
pub fn plural_thousands(n: u64, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `2.5s`: seconds, one decimal (the import's per-file lines and summary).
pub fn seconds(secs: f64) -> String {
    format!("{secs:.1}s")
}

/// `850ms`, `12.3s`, `4m 05s`, `2h 03m`: a measured duration (`status`).
pub fn short_duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        seconds(ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        let s = ms / 1000;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = ms / 60_000;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// `<1s`, `~42s`, `~4m 05s`, `~2h 03m`: an ETA, whole seconds, approximate
/// (`status`).
pub fn eta_secs(secs: u64) -> String {
    match secs {
        0 => "<1s".into(),
        1..60 => format!("~{secs}s"),
        _ => format!("~{}", short_duration_ms(secs * 1000)),
    }
}

/// `under a second`, `about 3 s`, `about 4 min 10 s`, `about 1 h 0 min`: a
/// predicted duration, seconds rounded up (`recommend`).
pub fn about_duration_ms(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    if ms == 0 {
        "nothing to read".into()
    } else if ms < 1000 {
        "under a second".into()
    } else if secs < 60 {
        format!("about {secs} s")
    } else if secs < 3600 {
        format!("about {} min {} s", secs / 60, secs % 60)
    } else {
        format!("about {} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// `text` in at most `width` columns, its start replaced by `…` if it is
/// longer: the end of a path is what tells files of one export apart.
pub fn fit_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let keep = width.saturating_sub(1);
    let tail: String = text.chars().skip(n - keep).collect();
    format!("…{tail}")
}

/// `text` in at most `width` columns, its end replaced by `…`.
pub fn fit_right(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` broken at spaces into lines of at most `width` columns (a word
/// longer than that stands alone), each after the first indented.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        let n = word.chars().count();
        if line > 0 && line + 1 + n > width {
            out.push('\n');
            out.push_str(indent);
            line = indent.chars().count();
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cut_from_the_left() {
        assert_eq!(fit_left("files/a.csv", 20), "files/a.csv");
        assert_eq!(fit_left("exports/report-part-003.csv", 12), "…art-003.csv");
        assert_eq!(fit_right("abcdef", 4), "abc…");
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("aaa bbb ccc", 7, "  "), "aaa bbb\n  ccc");
        assert_eq!(
            wrap("averyveryverylongword x", 5, ""),
            "averyveryverylongword\nx"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(binary_size(0), "0 B");
        assert_eq!(binary_size(1023), "1023 B");
        assert_eq!(binary_size(1024), "1.0 KiB");
        assert_eq!(binary_size(25_270_000), "24.1 MiB");
        assert_eq!(binary_size(3 << 30), "3.0 GiB");
        assert_eq!(si_size(999), "999 bytes");
        assert_eq!(si_size(1500), "1.5 kB");
        assert_eq!(si_size(147_204_916), "147.2 MB");
        assert_eq!(si_size(2_500_000_000), "2.5 GB");
        assert_eq!(limit_size(100 << 20), "100 MiB");
        assert_eq!(limit_size(1_000_000), "1 MB");
        assert_eq!(limit_size(1500), "1500 bytes");
        assert_eq!(exact_size(100 << 20), "100 MiB");
        assert_eq!(exact_size(TIB), "1 TiB");
        assert_eq!(exact_size(50_000_000), "50 MB");
        assert_eq!(exact_size(1500), "1500 B");
        assert_eq!(exact_size(1), "1 B");
        assert_eq!(si_rate(12_345_678.0), "12.3 MB/s");
    }

    #[test]
    fn counts() {
        for (n, grouped) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_234_567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(thousands(n), grouped);
        }
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(1234, "file"), "1234 files");
        assert_eq!(plural_thousands(1, "file"), "1 file");
        assert_eq!(plural_thousands(1234, "file"), "1,234 files");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds(2.25), "2.2s");
        assert_eq!(short_duration_ms(850), "850ms");
        assert_eq!(short_duration_ms(12_340), "12.3s");
        assert_eq!(short_duration_ms(245_000), "4m 05s");
        assert_eq!(short_duration_ms(7_380_000), "2h 03m");
        assert_eq!(eta_secs(0), "<1s");
        assert_eq!(eta_secs(42), "~42s");
        assert_eq!(eta_secs(245), "~4m 05s");
        assert_eq!(about_duration_ms(0), "nothing to read");
        assert_eq!(about_duration_ms(400), "under a second");
        assert_eq!(about_duration_ms(2280), "about 3 s");
        assert_eq!(about_duration_ms(250_000), "about 4 min 10 s");
        assert_eq!(about_duration_ms(3_599_500), "about 1 h 0 min");
    }
}
