//! A small demonstration toolkit: native functions that take time and
//! honour cancellation and progress (used by the interrupt tests), a
//! native vector that becomes a Rhai array only on request, and a noise
//! image used to test large display payloads.
//!
//! It also shows the shape every toolkit binding follows: doc comments and
//! parameter names through `FuncRegistration`, so that completion and
//! inspection describe the function.

use std::time::{Duration, Instant};

use rhai::{EvalAltResult, FuncRegistration};
use signal::{Progress, RealVector, Source};

use super::{Registrar, Toolkit, to_rhai_array};
use crate::display::{Displayable, MimeBundle};

/// How often long demo work checks the cancellation flag.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// The demonstration toolkit.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

impl Toolkit for Demo {
    fn name(&self) -> &'static str {
        "demo"
    }

    fn register(&self, registrar: &mut Registrar<'_>) {
        register_sleep(registrar);
        register_busy(registrar);
        register_noise_png(registrar);
        register_vector(registrar);
    }
}

fn register_sleep(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    FuncRegistration::new("sleep_ms")
        .with_params_info(["ms: i64", "()"])
        .with_comments(["/// Waits `ms` milliseconds; an interrupt stops the wait at once."])
        .register_into_engine(
            registrar.engine(),
            move |ms: i64| -> Result<(), Box<EvalAltResult>> {
                let deadline = Instant::now() + Duration::from_millis(ms.max(0) as u64);
                while Instant::now() < deadline {
                    context.check()?;
                    std::thread::sleep(CHECK_EVERY.min(deadline - Instant::now()));
                }
                Ok(())
            },
        );
}

fn register_busy(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    FuncRegistration::new("busy_native")
        .with_params_info(["ms: i64", "i64"])
        .with_comments([
            "/// Keeps a core busy in native code for `ms` milliseconds with a progress",
            "/// display, and returns how many rounds it did. Stops on interrupt.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |ms: i64| -> Result<i64, Box<EvalAltResult>> {
                let progress = context.progress("busy_native");
                let total = Duration::from_millis(ms.max(0) as u64);
                let started = Instant::now();
                let mut rounds = 0_i64;
                while started.elapsed() < total {
                    spin(CHECK_EVERY);
                    rounds += 1;
                    progress.check().map_err(|e| -> Box<EvalAltResult> {
                        let _ = e;
                        crate::context::interrupted_error()
                    })?;
                    progress.advance(
                        started.elapsed().as_millis() as u64,
                        total.as_millis() as u64,
                    );
                }
                progress.finish(&format!("{rounds} rounds"));
                Ok(rounds)
            },
        );
}

fn spin(duration: Duration) {
    let started = Instant::now();
    let mut x = 1_u64;
    while started.elapsed() < duration {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

/// An RGB image of pseudo-random pixels: incompressible, so its PNG is
/// about `3 * width * height` bytes.
#[derive(Debug, Clone)]
pub struct NoiseImage {
    png: Vec<u8>,
    width: u32,
    height: u32,
}

impl Displayable for NoiseImage {
    fn mime_bundle(&self) -> MimeBundle {
        let text = format!(
            "<image {}x{}, {} bytes PNG>",
            self.width,
            self.height,
            self.png.len()
        );
        MimeBundle::text(text).with_png(&self.png, self.width, self.height)
    }
}

/// The pixel bytes of [`NoiseImage`]: byte `i` (row-major RGB) is the top
/// byte of the 64-bit LCG state after `i + 1` steps from `seed`
/// (multiplier 6364136223846793005, increment 1442695040888963407).
pub fn noise_pixels(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..(width as usize * height as usize * 3))
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

fn encode_png(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>, String> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(png)
}

fn register_noise_png(registrar: &mut Registrar<'_>) {
    registrar.register_type::<NoiseImage>("NoiseImage");
    FuncRegistration::new("noise_image")
        .with_params_info(["width: i64", "height: i64", "seed: i64", "NoiseImage"])
        .with_comments(["/// A PNG image of pseudo-random RGB pixels (for testing large outputs)."])
        .register_into_engine(
            registrar.engine(),
            |width: i64, height: i64, seed: i64| -> Result<NoiseImage, Box<EvalAltResult>> {
                if !(1..=8192).contains(&width) || !(1..=8192).contains(&height) {
                    return Err(format!("image size {width}x{height} is outside 1..=8192").into());
                }
                let (width, height) = (width as u32, height as u32);
                let pixels = noise_pixels(width, height, seed as u64);
                let png = encode_png(width, height, &pixels)
                    .map_err(|e| format!("png encoding failed: {e}"))?;
                Ok(NoiseImage { png, width, height })
            },
        );
}

/// A native vector of samples, displayed as a summary.
#[derive(Debug, Clone)]
pub struct Vector(pub RealVector);

impl Displayable for Vector {
    fn mime_bundle(&self) -> MimeBundle {
        let values = &self.0.values;
        let head: Vec<String> = values.iter().take(5).map(|v| format!("{v}")).collect();
        let more = if values.len() > 5 { ", …" } else { "" };
        MimeBundle::text(format!(
            "Vector(len {}: [{}{more}])",
            values.len(),
            head.join(", ")
        ))
    }
}

fn register_vector(registrar: &mut Registrar<'_>) {
    registrar.register_type::<Vector>("Vector");
    let context = registrar.context();
    let engine = registrar.engine();
    FuncRegistration::new("ramp")
        .with_params_info(["n: i64", "Vector"])
        .with_comments(["/// The native vector 0, 1, ..., n-1 (stays native until `to_array`)."])
        .register_into_engine(engine, |n: i64| -> Result<Vector, Box<EvalAltResult>> {
            if !(0..=1 << 28).contains(&n) {
                return Err(format!("ramp length {n} is outside 0..=2^28").into());
            }
            Ok(Vector(RealVector::new((0..n).map(|i| i as f64).collect())))
        });
    engine.register_get("len", |v: &mut Vector| v.0.info().len as i64);
    engine.register_fn("sum", |v: &mut Vector| v.0.values.iter().sum::<f64>());
    FuncRegistration::new("to_array")
        .with_params_info(["vector: &mut Vector", "Array"])
        .with_comments(["/// The values as a Rhai array, refused past the array size limit."])
        .register_into_engine(engine, move |v: &mut Vector| {
            to_rhai_array(&v.0.values, context.array_limit())
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_png_decodes_to_the_documented_pixels() {
        let pixels = noise_pixels(7, 5, 42);
        let png = encode_png(7, 5, &pixels).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut decoded = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut decoded).unwrap();
        assert_eq!(decoded, pixels);
    }

    #[test]
    fn first_noise_byte_follows_the_lcg() {
        let expected = (42_u64
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            >> 56) as u8;
        assert_eq!(noise_pixels(1, 1, 42)[0], expected);
    }
}
