//! Where a path leads: its real absolute name, and the file it is (device
//! and inode), so that two names of one file are told apart from two files.
//! A leaf: it imports nothing of ours, so the pipeline and the stores both
//! use it. It never creates, opens or changes a file.

use std::path::{Path, PathBuf};

/// The real absolute name of `path`, following symlinks (dangling ones
/// too) and `..`, also when the file itself does not exist yet.
pub fn resolve(path: &Path) -> PathBuf {
    let mut path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // Bounded like the kernel's own symlink limit: a loop ends here.
    for _ in 0..40 {
        if let Ok(real) = std::fs::canonicalize(&path) {
            return real;
        }
        let parent = path.parent().map(Path::to_path_buf);
        match (std::fs::read_link(&path), parent) {
            (Ok(target), Some(parent)) => path = parent.join(target),
            (_, Some(parent)) => {
                let dir = std::fs::canonicalize(&parent).unwrap_or_else(|_| lexical(&parent));
                return match path.file_name() {
                    Some(name) => dir.join(name),
                    None => dir,
                };
            }
            (_, None) => break,
        }
    }
    lexical(&path)
}

/// `path` with `.` and `..` taken out by name alone (for folders that do
/// not exist, where the file system cannot say more).
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The file a name leads to (device, inode), which every hard link and
/// symlink of it shares; `None` where the platform does not say.
#[cfg(unix)]
pub fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
pub fn identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}
