//! Cooperation with the kernel: streaming estimators report progress,
//! stop when cancelled and leave no scratch file behind.

mod support;

use signal::{RealVector, Silent};
use spectral::{Average, MemoryBudget, SpectrogramOptions, WelchOptions, spectrogram, welch};
use support::{Recorder, Seeded};

#[test]
fn welch_reports_progress_up_to_one() {
    let source = RealVector::new(Seeded::new(1).signal(20_000));
    let recorder = Recorder::new(None);
    let options = WelchOptions {
        chunk_len: 3000,
        ..WelchOptions::default()
    };

    welch(&source, &options, &recorder).unwrap();

    let fractions = recorder.fractions.lock().unwrap();
    assert_eq!(fractions.len(), 7);
    assert_eq!(*fractions.last().unwrap(), 1.0);
}

#[test]
fn a_cancelled_median_welch_removes_its_spilled_periodograms() {
    let source = RealVector::new(Seeded::new(2).signal(50_000));
    let dir = tempfile::tempdir().unwrap();
    let options = WelchOptions {
        average: Average::Median,
        chunk_len: 5000,
        budget: MemoryBudget::from_bytes(8 << 10),
        scratch_dir: Some(dir.path().to_path_buf()),
        ..WelchOptions::default()
    };

    let error = welch(&source, &options, &Recorder::new(Some(3))).unwrap_err();

    assert_eq!(error.to_string(), "interrupted");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_cancelled_spilling_spectrogram_removes_its_frames() {
    let source = RealVector::new(Seeded::new(3).signal(50_000));
    let dir = tempfile::tempdir().unwrap();
    let options = SpectrogramOptions {
        chunk_len: 5000,
        budget: MemoryBudget::from_bytes(8 << 10),
        scratch_dir: Some(dir.path().to_path_buf()),
        ..SpectrogramOptions::default()
    };

    let error = spectrogram(&source, &options, &Recorder::new(Some(4))).unwrap_err();
    assert_eq!(error.to_string(), "interrupted");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let finished = spectrogram(&source, &options, &Silent).unwrap();
    assert!(finished.is_out_of_core());
    assert!(
        finished.summary().contains("out of core"),
        "{}",
        finished.summary()
    );
}
