//! Escaping for text that reaches a terminal or a log: file names, headers,
//! values and messages come from files and users, and a raw ESC, an OSC
//! sequence, a CR or a bidi override in them could rewrite the screen, hide
//! a line or spoof another. Everything printed as text passes through here
//! first; JSON needs nothing more, serde escapes it.
//!
//! Control characters become `\x1b`, `\r`, `\n`, `\t` (C0 and DEL) or
//! `\u{9b}` (C1, and the invisible format characters that reorder text). A
//! value quoted in a message is also cut to [`QUOTED_BYTES`] on a character
//! boundary, with a marker saying how long it was: a 40 MB field is named,
//! never printed. This module imports nothing of ours.

use std::borrow::Cow;
use std::fmt::Write;

/// How much of a value (after escaping) a message quotes.
pub const QUOTED_BYTES: usize = 200;

/// True for a character that must not reach a terminal as it is: control
/// characters (C0, DEL, C1) and the zero-width and bidi format characters
/// that change how the text around them is shown.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` as one word for a shell, in a command printed to be pasted: as it
/// is when it holds only safe characters, else in single quotes, or, when
/// it holds a character that must not reach a terminal, in `$'…'` quotes
/// (bash, zsh, ksh) with that character written as an escape, so the word
/// names the same bytes and the terminal sees nothing raw.
pub fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    if !text.chars().any(needs_escape) {
        return format!("'{}'", text.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if needs_escape(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `text` with every control character escaped; borrowed when there is none.
pub fn escaped(text: &str) -> Cow<'_, str> {
    escape_with(text, needs_escape)
}

/// Like [`escaped`], but keeps line breaks: for messages that are several
/// lines on purpose (a config file's syntax error with its excerpt).
pub fn escaped_keep_lines(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| c != '\n' && needs_escape(c))
}

fn escape_with(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = text.find(&escape) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` escaped and cut to about [`QUOTED_BYTES`], unquoted: for names
/// (headers) inside messages. A cut value ends with `…(N bytes)`, N being
/// its whole length.
pub fn clipped(text: &str) -> Cow<'_, str> {
    if text.len() <= QUOTED_BYTES && !text.contains(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(QUOTED_BYTES.min(text.len()) + 24);
    push_clipped(&mut out, text, false);
    Cow::Owned(out)
}

/// `text` in double quotes, escaped like Rust's `{:?}` (also `"` and `\`)
/// and cut to about [`QUOTED_BYTES`]: for values inside messages.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(QUOTED_BYTES.min(text.len()) + 26);
    out.push('"');
    push_clipped(&mut out, text, true);
    out.push('"');
    out
}

fn push_clipped(out: &mut String, text: &str, quote: bool) {
    let start = out.len();
    for c in text.chars() {
        if out.len() - start >= QUOTED_BYTES {
            let _ = write!(out, "…({} bytes)", text.len());
            return;
        }
        match c {
            '"' | '\\' if quote => {
                out.push('\\');
                out.push(c);
            }
            c if needs_escape(c) => push_escaped(out, c),
            c => out.push(c),
        }
    }
}

/// A writer that escapes every control character but the line break in
/// what passes through it: for reports made of many lines and fields
/// (`status`), so that no field can reach the terminal raw.
pub struct Lines<W: std::io::Write>(pub W);

impl<W: std::io::Write> std::io::Write for Lines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Formatted output arrives in whole `str` pieces; anything else is
        // shown as text all the same.
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(escaped_keep_lines(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_word_names_the_same_bytes_and_shows_nothing_raw() {
        let names = [
            "files/a.csv",
            "it's a $file `id`.csv",
            "new\nline\ttab.csv",
            "esc\u{1b}[31mred\\back'q.csv",
            "bidi\u{202e}vsc.csv",
            "",
        ];
        for name in names {
            let word = shell_word(name);
            assert!(!word.chars().any(needs_escape), "{word:?}");
            let Ok(out) = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("printf %s {word}"))
                .output()
            else {
                eprintln!("skipped: no bash to read {word} back");
                return;
            };
            assert_eq!(String::from_utf8_lossy(&out.stdout), name, "{word}");
        }
        assert_eq!(shell_word("files/a.csv"), "files/a.csv");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("a\nb"), "$'a\\x0ab'");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escaped("plain é ✓"), "plain é ✓");
        assert!(matches!(escaped("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escaped("a\u{1b}]0;title\u{7}b\r\n\t\u{7f}\0"),
            "a\\x1b]0;title\\x07b\\r\\n\\t\\x7f\\x00"
        );
        assert_eq!(escaped("x\u{9b}31m\u{202e}y"), "x\\u{9b}31m\\u{202e}y");
        assert_eq!(escaped_keep_lines("one\ntwo\u{1b}"), "one\ntwo\\x1b");
        assert_eq!(escaped("back\\slash \"quote\""), "back\\slash \"quote\"");
    }

    #[test]
    fn the_lines_writer_keeps_line_breaks_and_escapes_the_rest() {
        use std::io::Write;
        let mut out = Lines(Vec::new());
        let path = "a\u{1b}[2Jb.csv";
        writeln!(out, "run 1\n  path {path}").unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "run 1\n  path a\\x1b[2Jb.csv\n"
        );
    }

    #[test]
    fn quoted_values_are_escaped_and_cut_on_a_character_boundary() {
        assert_eq!(quoted("two"), "\"two\"");
        assert_eq!(quoted("a\"b\\c\u{1b}"), "\"a\\\"b\\\\c\\x1b\"");
        let long = "é".repeat(30_000);
        let q = quoted(&long);
        assert!(q.len() < QUOTED_BYTES + 30, "{}", q.len());
        assert!(q.ends_with("…(60000 bytes)\""), "{q}");
        assert!(q.starts_with("\"éé"));
        let escapes = "\u{1b}".repeat(1000);
        assert!(quoted(&escapes).ends_with("…(1000 bytes)\""));
        assert!(!quoted(&escapes).contains('\u{1b}'));
        assert_eq!(clipped("Kode Pesanan"), "Kode Pesanan");
        let clip = clipped(&long);
        assert!(clip.ends_with("…(60000 bytes)") && clip.len() < QUOTED_BYTES + 30);
        assert_eq!(quoted(&"x".repeat(QUOTED_BYTES)).len(), QUOTED_BYTES + 2);
    }
}
