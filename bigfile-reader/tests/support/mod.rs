//! Shared helpers of the integration tests: where the workspace and the
//! shared data are, and how to run the project's Python (the oracles:
//! scipy, numpy, audioop, msgpack).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/data` seen from the workspace root.
pub fn shared_data() -> PathBuf {
    workspace_root().join("../shared/data")
}

/// `$WENDELIN_PYTHON`, else the workspace's `.venv/bin/python`.
pub fn python() -> PathBuf {
    match std::env::var_os("WENDELIN_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(".venv/bin/python"),
    }
}

/// Runs `script` with the project's Python and `arguments`; returns its
/// stdout. Panics with Python's stderr when it fails, since the oracle
/// is required.
pub fn run_python(script: &str, arguments: &[&str]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run {}: {error}; run scripts/python-env.sh",
                python().display()
            )
        });
    assert!(
        output.status.success(),
        "python oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Little-endian f64 values from a file written by numpy's `tofile`.
pub fn read_f64_file(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|bytes| f64::from_le_bytes(bytes.try_into().unwrap()))
        .collect()
}

/// The `.wav` files of a folder, sorted.
pub fn wav_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wav"))
        .collect();
    files.sort();
    files
}
