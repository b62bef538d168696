//! `wendelin-kernel install`: writes the kernelspec `wendelin` (kernel.json
//! with this binary's absolute path, and the logos) where Jupyter looks
//! for kernels (jupyter-protocol.md §2).
//!
//! Destinations follow `jupyter kernelspec install`: `--user` (the
//! default) is `$JUPYTER_DATA_DIR/kernels`, else the platform's user data
//! directory; `--sys-prefix` is the active Python environment
//! (`$VIRTUAL_ENV` or `$CONDA_PREFIX`); `--prefix DIR` is
//! `DIR/share/jupyter/kernels`. After writing, the search path Jupyter uses
//! (`JUPYTER_PATH` first, then the user, environment and system
//! directories) is checked, and a spec that would shadow ours or a
//! destination Jupyter would not search is reported. The logos are drawn
//! by [`draw_logo`]; the files in `kernelspec/` are its output.

use std::path::{Path, PathBuf};

use crate::error::{KernelError, Result};

/// The kernel's name, which is its directory name.
pub const KERNEL_NAME: &str = "wendelin";

const TEMPLATE: &str = include_str!("../../kernelspec/kernel.json");
const LOGO_32: &[u8] = include_bytes!("../../kernelspec/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../../kernelspec/logo-64x64.png");
const LOGO_SVG: &str = include_str!("../../kernelspec/logo-svg.svg");

/// Where to install.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The user's Jupyter data directory.
    User,
    /// The active Python environment.
    SysPrefix,
    /// `DIR/share/jupyter/kernels`.
    Prefix(PathBuf),
}

/// The user's Jupyter data directory, as jupyter_core computes it.
fn user_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| KernelError::NoInstallDir("HOME is not set; use --prefix DIR".into()))?;
    if cfg!(target_os = "macos") {
        return Ok(home.join("Library/Jupyter"));
    }
    match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(xdg) => Ok(PathBuf::from(xdg).join("jupyter")),
        None => Ok(home.join(".local/share/jupyter")),
    }
}

fn environment_prefix() -> Option<PathBuf> {
    ["VIRTUAL_ENV", "CONDA_PREFIX"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|p| !p.is_empty()))
        .map(PathBuf::from)
}

/// The `kernels` directory of a target.
///
/// # Errors
/// [`KernelError::NoInstallDir`] when the target's directory is unknown.
pub fn kernels_dir(target: &Target) -> Result<PathBuf> {
    match target {
        Target::User => Ok(user_data_dir()?.join("kernels")),
        Target::SysPrefix => environment_prefix()
            .map(|p| p.join("share/jupyter/kernels"))
            .ok_or_else(|| {
                KernelError::NoInstallDir(
                    "--sys-prefix needs an active environment (VIRTUAL_ENV or CONDA_PREFIX)".into(),
                )
            }),
        Target::Prefix(prefix) => Ok(prefix.join("share/jupyter/kernels")),
    }
}

/// The directories Jupyter searches for kernelspecs, in order.
pub fn search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("JUPYTER_PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    dirs.extend(user_data_dir().ok());
    dirs.extend(environment_prefix().map(|p| p.join("share/jupyter")));
    dirs.extend(["/usr/local/share/jupyter", "/usr/share/jupyter"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join("kernels")).collect()
}

/// The kernel.json text for `binary`.
pub fn kernel_json(binary: &Path) -> String {
    let escaped = serde_json::to_string(&binary.to_string_lossy()).unwrap_or_default();
    TEMPLATE.replace("\"@BINARY@\"", &escaped)
}

/// Writes the kernelspec for `binary` into `target`; returns its directory.
///
/// # Errors
/// [`KernelError::NoInstallDir`] or [`KernelError::Install`].
pub fn install(target: &Target, binary: &Path) -> Result<PathBuf> {
    let dir = kernels_dir(target)?.join(KERNEL_NAME);
    let io_error = |source| KernelError::Install {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io_error)?;
    let spec = kernel_json(binary);
    let files: [(&str, &[u8]); 4] = [
        ("kernel.json", spec.as_bytes()),
        ("logo-32x32.png", LOGO_32),
        ("logo-64x64.png", LOGO_64),
        ("logo-svg.svg", LOGO_SVG.as_bytes()),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).map_err(io_error)?;
    }
    Ok(dir)
}

/// What a user should know about where Jupyter will find the spec just
/// installed in `dir`: `None` when Jupyter finds it first.
pub fn search_path_warning(dir: &Path) -> Option<String> {
    let installed_in = dir.parent()?;
    let path = search_path();
    let found = path
        .iter()
        .find(|d| d.join(KERNEL_NAME).join("kernel.json").is_file());
    match found {
        Some(first) if same_dir(first, installed_in) => None,
        Some(first) => Some(format!(
            "another kernelspec {KERNEL_NAME} in {} comes first in Jupyter's search path",
            first.display()
        )),
        None => Some(format!(
            "Jupyter does not search {}; add {} to JUPYTER_PATH",
            installed_in.display(),
            installed_in.parent().unwrap_or(installed_in).display()
        )),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Draws the logo at `size` pixels: a wave on a rounded dark square. The
/// PNGs in `kernelspec/` come from here (see the test below).
pub fn draw_logo(size: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    let s = size as f64;
    for y in 0..size {
        for x in 0..size {
            let (fx, fy) = ((x as f64 + 0.5) / s, (y as f64 + 0.5) / s);
            pixels.extend_from_slice(&logo_pixel(fx, fy, s));
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(&pixels);
        let _ = writer.finish();
    }
    png
}

fn logo_pixel(fx: f64, fy: f64, size: f64) -> [u8; 4] {
    // rounded square: outside the corners is transparent
    let corner = 0.18;
    let dx = (corner - fx).max(fx - (1.0 - corner)).max(0.0);
    let dy = (corner - fy).max(fy - (1.0 - corner)).max(0.0);
    if (dx * dx + dy * dy).sqrt() > corner {
        return [0, 0, 0, 0];
    }
    // a damped sine wave across the middle, about 3 pixels thick at 64
    let wave = 0.5 - 0.28 * (-(fx - 0.1) * 1.2).exp() * (fx * std::f64::consts::TAU * 2.0).sin();
    let thickness = (2.0 / size).max(0.045);
    if (fy - wave).abs() < thickness && (0.12..0.88).contains(&fx) {
        return [255, 163, 26, 255];
    }
    [23, 54, 93, 255]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_json_names_the_binary_and_message_interrupts() {
        let json: serde_json::Value =
            serde_json::from_str(&kernel_json(Path::new("/opt/k \"x\"/wendelin-kernel"))).unwrap();
        assert_eq!(json["argv"][0], "/opt/k \"x\"/wendelin-kernel");
        assert_eq!(json["argv"][2], "{connection_file}");
        assert_eq!(json["interrupt_mode"], "message");
        assert_eq!(json["language"], "rhai");
    }

    #[test]
    fn prefix_install_writes_spec_and_logos() {
        let prefix = tempfile::tempdir().unwrap();
        let dir = install(
            &Target::Prefix(prefix.path().to_path_buf()),
            Path::new("/bin/k"),
        )
        .unwrap();
        assert_eq!(dir, prefix.path().join("share/jupyter/kernels/wendelin"));
        for file in [
            "kernel.json",
            "logo-32x32.png",
            "logo-64x64.png",
            "logo-svg.svg",
        ] {
            assert!(dir.join(file).is_file(), "{file}");
        }
    }

    #[test]
    fn logos_in_kernelspec_are_the_drawing() {
        // Set WENDELIN_DRAW_LOGOS=1 to rewrite kernelspec/ after changing the drawing.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernelspec");
        for (size, file) in [(32, "logo-32x32.png"), (64, "logo-64x64.png")] {
            let drawn = draw_logo(size);
            if std::env::var_os("WENDELIN_DRAW_LOGOS").is_some() {
                std::fs::write(root.join(file), &drawn).unwrap();
            }
            assert_eq!(std::fs::read(root.join(file)).unwrap(), drawn, "{file}");
        }
    }

    #[test]
    fn drawn_logo_has_the_requested_size() {
        let png = draw_logo(32);
        let reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        assert_eq!((reader.info().width, reader.info().height), (32, 32));
    }
}
