//! Find the inputs: expand files, directories and glob patterns into the list
//! of files to read, each once, smallest first.
//!
//! Globs are expanded here, so quoted patterns work the same on every shell.
//! Directories contribute their own `*.csv` and `*.csv.gz`, not their
//! subdirectories'. A named file that does not exist stays in the list: it
//! becomes a failed file (`not found`), not a usage error.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// `None` when the file could not be looked at (it then fails).
    pub size: Option<u64>,
}

/// Expands `patterns` into files, without repeats, smallest first (equal
/// sizes by path). A pattern that matches nothing is reported in `unmatched`.
pub fn find(patterns: &[String]) -> (Vec<Input>, Vec<String>) {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut unmatched = Vec::new();
    for pattern in patterns {
        let before = found.len();
        let path = Path::new(pattern);
        if path.is_dir() {
            add_dir(path, &mut seen, &mut found);
        } else if is_glob(pattern) && !path.exists() {
            if let Ok(paths) = glob::glob(pattern) {
                for entry in paths.flatten() {
                    if entry.is_dir() {
                        add_dir(&entry, &mut seen, &mut found);
                    } else {
                        add(entry, &mut seen, &mut found);
                    }
                }
            }
            if found.len() == before {
                unmatched.push(pattern.clone());
            }
            continue;
        } else {
            add(path.to_path_buf(), &mut seen, &mut found);
        }
        if found.len() == before && path.is_dir() {
            unmatched.push(pattern.clone());
        }
    }
    found.sort_by(|a, b| {
        a.size
            .unwrap_or(0)
            .cmp(&b.size.unwrap_or(0))
            .then_with(|| a.path.cmp(&b.path))
    });
    (found, unmatched)
}

/// The command that `input`, the first input of a command line without
/// one, was most likely meant to be: `statsu` → `status`. Only a word
/// (letters, digits, `-`, `_`) that names nothing on disk is taken for a
/// command, and only within two edits of one (one for short names).
pub fn mistyped_command<'a>(input: &str, commands: &[&'a str]) -> Option<&'a str> {
    let word = input
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if input.is_empty() || input.len() > 40 || !word || Path::new(input).exists() {
        return None;
    }
    let typed = input.to_ascii_lowercase();
    commands
        .iter()
        .map(|&name| (strsim::osa_distance(&typed, name), name))
        .filter(|&(edits, name)| edits <= 2 && edits * 3 <= name.len())
        .min_by_key(|&(edits, _)| edits)
        .map(|(_, name)| name)
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// True for the file names a directory contributes.
pub fn is_export_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

fn add_dir(dir: &Path, seen: &mut HashSet<PathBuf>, found: &mut Vec<Input>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        add(dir.to_path_buf(), seen, found);
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() && is_export_name(&path) {
            add(path, seen, found);
        }
    }
}

fn add(path: PathBuf, seen: &mut HashSet<PathBuf>, found: &mut Vec<Input>) {
    let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if seen.insert(key) {
        let size = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        found.push(Input { path, size });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMANDS: [&str; 6] = [
        "import",
        "status",
        "recommend",
        "completions",
        "man",
        "help",
    ];

    #[test]
    fn a_word_close_to_a_command_is_taken_for_it() {
        for (typed, meant) in [
            ("statsu", "status"),
            ("stauts", "status"),
            ("Status", "status"),
            ("stat", "status"),
            ("improt", "import"),
            ("recomend", "recommend"),
            ("completion", "completions"),
            ("mna", "man"),
            ("hlep", "help"),
        ] {
            assert_eq!(mistyped_command(typed, &COMMANDS), Some(meant), "{typed}");
        }
        for typed in [
            "files",
            "a",
            "st",
            "mx",
            "statsu.csv",
            "./statsu",
            "exports/statsu",
            "stat*",
            "",
            "orders-2025",
        ] {
            assert_eq!(mistyped_command(typed, &COMMANDS), None, "{typed}");
        }
    }

    #[test]
    fn expands_dirs_globs_and_files_smallest_first() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("b.csv"), "xx").unwrap();
        std::fs::write(d.join("a.csv"), "xxxx").unwrap();
        std::fs::write(d.join("c.csv.gz"), "x").unwrap();
        std::fs::write(d.join("notes.txt"), "x").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/deep.csv"), "x").unwrap();

        let (files, unmatched) = find(&[d.display().to_string()]);
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["c.csv.gz", "b.csv", "a.csv"]);
        assert!(unmatched.is_empty());

        let glob = format!("{}/*.csv", d.display());
        let again = d.join("a.csv").display().to_string();
        let missing = d.join("missing.csv").display().to_string();
        let (files, _) = find(&[glob, again, missing.clone()]);
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(files[0].size, None);
        assert_eq!(files[0].path, PathBuf::from(missing));

        let (files, unmatched) = find(&[format!("{}/*.nope", d.display())]);
        assert!(files.is_empty());
        assert_eq!(unmatched.len(), 1);
    }
}
