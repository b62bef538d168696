//! Test support shared by the integration tests: a seeded random signal,
//! a naive DFT oracle, numpy/scipy oracles run in the project's Python,
//! and tolerance checks.

#![allow(dead_code)]

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use num_complex::Complex64;

/// SplitMix64: a small seeded generator, so failures reproduce.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// `len` samples: noise, two tones, an offset and a slope, so every
    /// detrend mode has something to remove.
    pub fn signal(&mut self, len: usize) -> Vec<f64> {
        (0..len)
            .map(|i| {
                let t = i as f64;
                self.uniform()
                    + 0.8 * (2.0 * PI * 0.05 * t).sin()
                    + 0.3 * (2.0 * PI * 0.31 * t).cos()
                    + 2.5
                    + 1e-3 * t
            })
            .collect()
    }

    pub fn complex_signal(&mut self, len: usize) -> Vec<Complex64> {
        (0..len)
            .map(|_| Complex64::new(self.uniform(), self.uniform()))
            .collect()
    }
}

/// The DFT by its definition, with the angle reduced exactly (j·k mod n)
/// so the oracle itself is accurate.
pub fn naive_dft(input: &[Complex64]) -> Vec<Complex64> {
    let n = input.len() as u64;
    (0..n)
        .map(|k| {
            input
                .iter()
                .enumerate()
                .fold(Complex64::default(), |sum, (j, x)| {
                    let m = (j as u64 * k) % n;
                    let angle = -2.0 * PI * m as f64 / n as f64;
                    sum + x * Complex64::new(angle.cos(), angle.sin())
                })
        })
        .collect()
}

/// max |got − expected| ≤ tolerance · max |expected|.
pub fn assert_close_to_largest(
    got: &[Complex64],
    expected: &[Complex64],
    tolerance: f64,
    what: &str,
) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    let largest = expected.iter().map(|x| x.norm()).fold(0.0, f64::max);
    let worst = got
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).norm())
        .fold(0.0, f64::max);
    assert!(
        worst <= tolerance * largest.max(f64::MIN_POSITIVE),
        "{what}: max error {worst:e} is more than {tolerance:e} of the largest magnitude {largest:e}"
    );
}

/// Per value: |got − expected| ≤ relative · |expected| + floor · max |expected|.
pub fn assert_close_per_value(
    got: &[f64],
    expected: &[f64],
    relative: f64,
    floor: f64,
    what: &str,
) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    let largest = expected.iter().map(|x| x.abs()).fold(0.0, f64::max);
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        let allowed = relative * b.abs() + floor * largest;
        assert!(
            (a - b).abs() <= allowed,
            "{what}: value {i} is {a:e}, expected {b:e} (allowed {allowed:e})"
        );
    }
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `$WENDELIN_PYTHON`, else `<workspace root>/.venv/bin/python`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("WENDELIN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "the Python oracle needs numpy and scipy: {} does not exist; run `bash scripts/python-env.sh` \
         or set WENDELIN_PYTHON to a Python that has them",
        path.display()
    );
    path
}

/// Runs `tests/oracle.py` on `input` with one case per line, in `dir`;
/// case i writes `dir/out-i.f64`.
pub fn run_oracle(dir: &Path, input: &Path, cases: &[String]) {
    let cases_path = dir.join("cases.txt");
    std::fs::write(&cases_path, cases.join("\n")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(input)
        .arg(&cases_path)
        .arg(dir)
        .output()
        .expect("the Python oracle could not be started");
    assert!(
        output.status.success(),
        "the Python oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn write_f64s(path: &Path, values: &[f64]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

pub fn write_complex(path: &Path, values: &[Complex64]) {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|v| [v.re.to_le_bytes(), v.im.to_le_bytes()])
        .flatten()
        .collect();
    std::fs::write(path, bytes).unwrap();
}

pub fn read_f64s(path: &Path) -> Vec<f64> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("oracle output {}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

pub fn read_complex(path: &Path) -> Vec<Complex64> {
    read_f64s(path)
        .chunks_exact(2)
        .map(|p| Complex64::new(p[0], p[1]))
        .collect()
}

/// A progress observer that records phases and fractions, and cancels
/// once it has seen `cancel_after` advances.
pub struct Recorder {
    pub phases: std::sync::Mutex<Vec<String>>,
    pub fractions: std::sync::Mutex<Vec<f64>>,
    pub cancel_after: Option<usize>,
}

impl Recorder {
    pub fn new(cancel_after: Option<usize>) -> Self {
        Self {
            phases: Default::default(),
            fractions: Default::default(),
            cancel_after,
        }
    }
}

impl signal::Progress for Recorder {
    fn advance(&self, done: u64, total: u64) {
        self.fractions
            .lock()
            .unwrap()
            .push(done as f64 / total as f64);
    }

    fn phase(&self, name: &str) {
        self.phases.lock().unwrap().push(name.to_string());
    }

    fn is_cancelled(&self) -> bool {
        self.cancel_after
            .is_some_and(|limit| self.fractions.lock().unwrap().len() >= limit)
    }
}
