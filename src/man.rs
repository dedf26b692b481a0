//! The manual page (`dropship-import man`): one page for the whole tool.
//!
//! clap_mangen renders the name, synopsis, description and options; the
//! commands are rendered into the same page (each with its synopsis and
//! options) instead of being pointed to as `dropship-import-status(1)`
//! pages that are not installed anywhere. EXIT STATUS and EXAMPLES come
//! from the blocks `--help` shows after the options ([`cli::AFTER_HELP`]),
//! so the two never disagree; FILES names what a run reads and leaves
//! beside it. It never writes anything but the page.

use crate::cli::{self, Cli};
use clap::CommandFactory;
use clap_mangen::Man;
use std::io::{self, Write};

/// Writes the page (roff) to `out`.
pub fn render(out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone());
    // The title keeps the preamble every rendered part starts with.
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    page.extend(part(|w| man.render_name_section(w), true)?);
    page.extend(part(|w| man.render_synopsis_section(w), true)?);
    page.extend(part(|w| man.render_description_section(w), true)?);
    page.extend(part(|w| man.render_options_section(w), true)?);
    commands(&cmd, &mut page)?;
    entries(
        &mut page,
        "EXIT STATUS",
        block(cli::AFTER_HELP, "Exit codes:"),
    )?;
    files(&mut page)?;
    let examples = [
        cli::AFTER_HELP,
        cli::STATUS_EXAMPLES,
        cli::RECOMMEND_EXAMPLES,
    ]
    .iter()
    .flat_map(|text| block(text, "Examples:"))
    .collect();
    entries(&mut page, "EXAMPLES", examples)?;
    page.extend(part(|w| man.render_version_section(w), true)?);
    out.write_all(&page)
}

/// Each command with what it does, its synopsis and its options; `import`
/// takes the options above and is only named.
fn commands(cmd: &clap::Command, page: &mut Vec<u8>) -> io::Result<()> {
    writeln!(page, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(page, ".SS {}", sub.get_name())?;
        if let Some(about) = sub.get_about() {
            writeln!(page, "{}", text(&about.to_string()))?;
        }
        let man = Man::new(sub.clone());
        writeln!(page, ".PP")?;
        page.extend(part(|w| man.render_synopsis_section(w), false)?);
        if sub.get_name() == "import" {
            writeln!(page, ".PP\nThe options are those of OPTIONS above.")?;
            continue;
        }
        page.extend(part(|w| man.render_options_section(w), false)?);
    }
    Ok(())
}

/// What a run reads, and leaves beside the database (SQLite).
fn files(page: &mut Vec<u8>) -> io::Result<()> {
    let files: [(&str, &str); 4] = [
        (
            "importer.toml",
            "The config file, read from the current folder when it is there, or the file \
             named by -c/--config. Every key is optional; an unknown key is an error naming \
             it. Options on the command line win over it.",
        ),
        (
            "dropship.db",
            "The SQLite database written when neither --db, [database] path nor \
             DROPSHIP_DB names another (or a PostgreSQL server). Created when missing.",
        ),
        (
            "dropship.db-wal, dropship.db-shm",
            "SQLite's write-ahead log and its index, beside the database while it is open. \
             They are part of it: copy, move or remove them only with the database, and \
             never while a run is going.",
        ),
        (
            "dropship.db.lock",
            "Written while a run imports into the database: its process id, host and \
             start, which a second run shows when it is turned away (exit 1). It only \
             describes the run; the lock itself is on the database file and ends with the \
             process, so a killed run never blocks the next one.",
        ),
    ];
    writeln!(page, ".SH FILES")?;
    for (name, what) in files {
        writeln!(page, ".TP\n\\fI{}\\fR\n{}", text(name), text(what))?;
    }
    Ok(())
}

/// A section of `.TP` entries: the first part bold.
fn entries(page: &mut Vec<u8>, title: &str, list: Vec<(&str, &str)>) -> io::Result<()> {
    match title.contains(' ') {
        true => writeln!(page, ".SH \"{title}\"")?,
        false => writeln!(page, ".SH {title}")?,
    }
    for (what, meaning) in list {
        writeln!(page, ".TP\n\\fB{}\\fR\n{}", text(what), text(meaning))?;
    }
    Ok(())
}

/// The entries of the block headed `heading` in a help text: lines of
/// what to type (or a code), two spaces or more, and what it means.
fn block<'a>(help: &'a str, heading: &str) -> Vec<(&'a str, &'a str)> {
    help.lines()
        .skip_while(|line| *line != heading)
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| {
            let line = line.trim();
            match line.split_once("  ") {
                Some((what, meaning)) => (what, meaning.trim()),
                None => (line, ""),
            }
        })
        .collect()
}

/// One part of the page as clap_mangen renders it, without the preamble
/// that each part starts with, and without its `.SH` heading unless
/// `heading` (a command's synopsis and options sit under its `.SS`).
fn part(
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    heading: bool,
) -> io::Result<Vec<u8>> {
    let mut roff = Vec::new();
    render(&mut roff)?;
    let text = String::from_utf8_lossy(&roff);
    let mut out = String::with_capacity(text.len());
    let mut headed = heading;
    for line in text.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble || (!headed && line.starts_with(".SH")) {
            headed |= line.starts_with(".SH");
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// Plain text for roff: backslashes and hyphens escaped (so that options
/// copy as typed), and a line that would start with a control character
/// kept as text.
fn text(plain: &str) -> String {
    let escaped = plain.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_blocks_read_as_entries() {
        let codes = block(cli::AFTER_HELP, "Exit codes:");
        let numbers: Vec<&str> = codes.iter().map(|(code, _)| *code).collect();
        assert_eq!(numbers, ["0", "3", "1", "2", "130"]);
        assert!(codes.iter().all(|(_, meaning)| !meaning.is_empty()));
        let examples = block(cli::AFTER_HELP, "Examples:");
        assert!(examples.len() >= 3, "{examples:?}");
        for (command, meaning) in examples {
            assert!(command.starts_with("dropship-import "), "{command}");
            assert!(!meaning.is_empty(), "{command}");
            // SPEC: directories are not walked; `**` would say they are.
            assert!(!command.contains("**"), "{command}");
        }
    }

    #[test]
    fn one_page_with_every_command_and_no_pages_that_do_not_exist() {
        let mut page = Vec::new();
        render(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SH \"EXIT STATUS\"",
            ".SH FILES",
            ".SH EXAMPLES",
            ".SS status",
            ".SS recommend",
            "\\-\\-follow",
            "\\-\\-avg\\-file\\-size",
            "dropship.db.lock",
        ] {
            assert!(page.contains(section), "no {section} in the page");
        }
        assert!(!page.contains("dropship\\-import\\-"), "{page}");
        assert!(!page.contains("dropship-import-"), "{page}");
        assert_eq!(page.matches(".SH SYNOPSIS").count(), 1);
        assert_eq!(page.matches(".ds Aq").count(), 2, "one preamble");
    }
}
