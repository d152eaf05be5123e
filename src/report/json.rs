//! results.json: the [`Summary`] as pretty JSON, written atomically (a temporary file in the
//! same folder, synced, then renamed over the target), so that a reader never sees half a file.

use crate::metrics::Summary;
use crate::metrics::summary::SCHEMA_VERSION;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file name in a run's folder.
pub const FILE_NAME: &str = "results.json";

/// Writes `summary` to `path` atomically.
pub fn write(path: &Path, summary: &Summary) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(summary).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads a results.json back; one of another schema version is invalid data.
pub fn read(path: &Path) -> io::Result<Summary> {
    let bytes = fs::read(path)?;
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        let found = version.map_or("no".to_owned(), |v| v.to_string());
        return Err(invalid(format!(
            "{}: {found} schema version; this gauntlet reads version {SCHEMA_VERSION}",
            path.display()
        )));
    }
    serde_json::from_value(value).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename. On failure the
/// temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let written = (|| {
        let mut f = File::options().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // Make the rename itself durable; a folder that cannot be opened or synced is no error.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// `.<name>.<pid>.<n>.tmp` beside `path`: unique within and across processes.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        let msg = format!("{}: not a file path", path.display());
        io::Error::new(io::ErrorKind::InvalidInput, msg)
    })?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(".{}.{}.{n}.tmp", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.json");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("reads"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["x.json"]);
    }

    #[test]
    fn a_failed_write_leaves_the_target_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The target is a non-empty folder: the rename fails.
        let path = dir.path().join("taken");
        fs::create_dir(&path).expect("mkdir");
        fs::write(path.join("inside"), b"x").expect("write");
        assert!(write_atomic(&path, b"data").is_err());
        assert_eq!(fs::read_dir(dir.path()).expect("lists").count(), 1);
        assert!(write_atomic(Path::new("/"), b"x").is_err(), "no file name");
    }

    #[test]
    fn unreadable_json_is_invalid_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, b"{\"schema_version\": 1}").expect("write");
        let err = read(&path).expect_err("incomplete");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        fs::write(&path, b"{\"schema_version\": 2}").expect("write");
        let err = read(&path).expect_err("a newer version");
        assert!(err.to_string().contains("2 schema version"), "{err}");
        fs::write(&path, b"[]").expect("write");
        assert!(
            read(&path)
                .expect_err("not an object")
                .to_string()
                .contains("no schema")
        );
    }
}
