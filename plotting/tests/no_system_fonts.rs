//! The crate draws text without the system's font libraries: this test
//! binary, which renders a titled plot, must not link libfontconfig or
//! libfreetype (`spectral-and-plotting.md` §4, "Fonts, the CI trap").

use std::process::Command;
use std::sync::Arc;

use plotting::{PlotOptions, Series, plot};
use signal::{RealVector, Silent};

#[test]
fn the_binary_links_neither_fontconfig_nor_freetype() {
    let values = Arc::new(RealVector::new((0..1000).map(f64::from).collect()));
    let options = PlotOptions {
        title: Some("text is drawn".into()),
        ..PlotOptions::default()
    };
    let figure = plot(&Series::Signal(values).into(), &options, &Silent).unwrap();
    assert!(!figure.png.is_empty());

    let binary = std::env::current_exe().unwrap();
    let output = Command::new("ldd")
        .arg(&binary)
        .output()
        .expect("ldd must be installed to run this test");
    let libraries = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(
        output.status.success() || libraries.contains("not a dynamic"),
        "ldd failed: {output:?}"
    );
    assert!(
        !libraries.contains("fontconfig"),
        "links fontconfig:\n{libraries}"
    );
    assert!(
        !libraries.contains("freetype"),
        "links freetype:\n{libraries}"
    );
    assert!(
        libraries.contains("libc"),
        "ldd listed no libc, so it did not inspect the binary:\n{libraries}"
    );
}
