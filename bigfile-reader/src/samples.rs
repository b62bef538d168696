//! Headerless interleaved samples, as sensors that do not write WAV store
//! them: a dtype in numpy's spelling ("<i2", ">f4", "uint8"), a channel
//! count and a sample rate given by the caller. Values come back as
//! stored (no normalisation), as `numpy.frombuffer(...).astype(float)`
//! would give them.

use std::sync::Arc;

use crate::ReaderError;
use crate::channel::{ChannelSource, FrameLayout};
use crate::encoding::SampleEncoding;
use crate::range::ByteRange;

/// A byte range read as interleaved frames of one dtype.
#[derive(Clone)]
pub struct RawSamples {
    object: Arc<dyn ByteRange>,
    layout: FrameLayout,
    sample_rate: Option<f64>,
    trailing_bytes: u64,
}

impl RawSamples {
    /// Reads `object` as frames of `channels` samples of `dtype`, at
    /// `sample_rate` Hz when known. A trailing partial frame is ignored
    /// (and reported by [`RawSamples::trailing_bytes`]).
    ///
    /// # Errors
    /// [`ReaderError::InvalidDtype`] for a dtype not understood,
    /// [`ReaderError::InvalidArgument`] for 0 channels or a rate that is
    /// not a positive finite number.
    pub fn new(
        object: Arc<dyn ByteRange>,
        dtype: &str,
        channels: usize,
        sample_rate: Option<f64>,
    ) -> Result<Self, ReaderError> {
        let encoding = SampleEncoding::from_dtype(dtype)?;
        check_arguments(channels, sample_rate)?;

        let block_align = channels * encoding.bytes;
        let size = object.size();
        let frames = size / block_align as u64;
        let trailing_bytes = size % block_align as u64;
        if trailing_bytes != 0 {
            tracing::warn!(object = %object.describe(), trailing_bytes, "raw samples end with a partial frame");
        }
        let layout = FrameLayout {
            data_offset: 0,
            frames,
            block_align,
            channels,
            encoding,
        };
        Ok(Self {
            object,
            layout,
            sample_rate,
            trailing_bytes,
        })
    }

    /// Number of whole frames.
    pub fn frames(&self) -> u64 {
        self.layout.frames
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.layout.channels
    }

    /// Bytes after the last whole frame, ignored.
    pub fn trailing_bytes(&self) -> u64 {
        self.trailing_bytes
    }

    /// Channel `index` (from 0) as a lazy source.
    ///
    /// # Errors
    /// [`ReaderError::NoSuchChannel`] past the last channel.
    pub fn channel(&self, index: usize) -> Result<ChannelSource, ReaderError> {
        if index >= self.layout.channels {
            return Err(ReaderError::NoSuchChannel {
                index,
                channels: self.layout.channels,
            });
        }
        Ok(ChannelSource::new(
            self.object.clone(),
            self.layout,
            index,
            self.sample_rate,
            None,
        ))
    }
}

fn check_arguments(channels: usize, sample_rate: Option<f64>) -> Result<(), ReaderError> {
    if channels == 0 || channels > 65535 {
        return Err(ReaderError::InvalidArgument {
            name: "channel count",
            value: channels.to_string(),
            reason: "expected 1 to 65535".to_owned(),
        });
    }
    if let Some(rate) = sample_rate.filter(|rate| !(rate.is_finite() && *rate > 0.0)) {
        return Err(ReaderError::InvalidArgument {
            name: "sample rate",
            value: rate.to_string(),
            reason: "expected a positive number of samples per second".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::MemoryObject;
    use signal::Source;

    #[test]
    fn big_endian_floats_in_two_channels_are_split() {
        let values = [1.5f32, -2.0, 3.25, 4.0, 0.5, -0.5];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let samples = RawSamples::new(MemoryObject::shared(bytes), ">f4", 2, Some(100.0)).unwrap();

        let right = samples.channel(1).unwrap();
        let mut buffer = [0.0; 3];
        right.read_into(0, &mut buffer).unwrap();

        assert_eq!(buffer, [-2.0, 4.0, -0.5]);
        assert_eq!(right.info().duration(), Some(0.03));
    }

    #[test]
    fn a_partial_last_frame_is_left_out() {
        let samples = RawSamples::new(MemoryObject::shared(vec![0u8; 11]), "<i2", 2, None).unwrap();
        assert_eq!((samples.frames(), samples.trailing_bytes()), (2, 3));
    }

    #[test]
    fn bad_arguments_are_named() {
        let object = MemoryObject::shared(vec![0u8; 8]);
        let error = RawSamples::new(object.clone(), "<i2", 0, None)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "invalid channel count 0: expected 1 to 65535"
        );
        assert!(RawSamples::new(object.clone(), "<i2", 1, Some(-1.0)).is_err());
        assert!(RawSamples::new(object.clone(), "<q2", 1, None).is_err());
        assert!(
            RawSamples::new(object, "<i2", 1, None)
                .unwrap()
                .channel(1)
                .is_err()
        );
    }
}
