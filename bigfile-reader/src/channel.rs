//! One channel of interleaved frames stored in a byte range, as a lazy
//! [`signal::Source`]: the shared back end of WAV channels, raw sample
//! streams and Data Arrays. A read fetches only the frames asked for, in
//! pieces of about [`PIECE_BYTES`], so memory stays one piece whatever the
//! length of the read or of the object.

use std::sync::Arc;

use signal::{SignalError, Source, SourceInfo, check_range};

use crate::encoding::SampleEncoding;
use crate::range::{ByteRange, read_exact_at};

/// Bytes fetched from the object per step of a read.
pub const PIECE_BYTES: usize = 1 << 20;

/// Where frames lie in an object and how one channel's samples are
/// stored in them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameLayout {
    /// Offset of the first frame in the object.
    pub data_offset: u64,
    /// Number of whole frames.
    pub frames: u64,
    /// Bytes per frame (all channels).
    pub block_align: usize,
    /// Number of channels in a frame.
    pub channels: usize,
    /// How each sample is stored.
    pub encoding: SampleEncoding,
}

/// One channel of a [`FrameLayout`], read lazily from its object.
#[derive(Clone)]
pub struct ChannelSource {
    object: Arc<dyn ByteRange>,
    layout: FrameLayout,
    channel: usize,
    sample_rate: Option<f64>,
    units: Option<String>,
}

impl ChannelSource {
    /// Channel `channel` of `layout` in `object`; the caller has checked
    /// that the channel exists.
    pub(crate) fn new(
        object: Arc<dyn ByteRange>,
        layout: FrameLayout,
        channel: usize,
        sample_rate: Option<f64>,
        units: Option<String>,
    ) -> Self {
        Self {
            object,
            layout,
            channel,
            sample_rate,
            units,
        }
    }

    /// Frames per piece of a read.
    fn piece_frames(&self) -> usize {
        (PIECE_BYTES / self.layout.block_align).max(1)
    }
}

impl Source for ChannelSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.layout.frames,
            sample_rate: self.sample_rate,
            units: self.units.clone(),
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        check_range(start, buffer.len(), self.layout.frames)?;
        if buffer.is_empty() {
            return Ok(());
        }
        let stride = self.layout.block_align;
        let first = self.channel * self.layout.encoding.bytes;
        let piece = self.piece_frames().min(buffer.len());
        let mut raw = vec![0u8; piece * stride];

        for (index, out) in buffer.chunks_mut(piece).enumerate() {
            let frame = start + (index * piece) as u64;
            let bytes = &mut raw[..out.len() * stride];
            read_exact_at(
                self.object.as_ref(),
                self.layout.data_offset + frame * stride as u64,
                bytes,
            )?;
            self.layout
                .encoding
                .decode_channel(bytes, stride, first, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::MemoryObject;

    fn stereo_i16(frames: &[(i16, i16)]) -> Arc<dyn ByteRange> {
        let mut bytes = b"head".to_vec();
        for (left, right) in frames {
            bytes.extend_from_slice(&left.to_le_bytes());
            bytes.extend_from_slice(&right.to_le_bytes());
        }
        MemoryObject::shared(bytes)
    }

    fn layout(frames: u64) -> FrameLayout {
        FrameLayout {
            data_offset: 4,
            frames,
            block_align: 4,
            channels: 2,
            encoding: SampleEncoding::from_dtype("<i2").unwrap(),
        }
    }

    #[test]
    fn a_channel_reads_any_range_of_frames() {
        let frames: Vec<(i16, i16)> = (0..1000).map(|i| (i, -i)).collect();
        let right = ChannelSource::new(stereo_i16(&frames), layout(1000), 1, Some(8000.0), None);

        let mut buffer = vec![0.0; 5];
        right.read_into(995, &mut buffer).unwrap();

        assert_eq!(buffer, [-995.0, -996.0, -997.0, -998.0, -999.0]);
        assert_eq!(right.info().sample_rate, Some(8000.0));
    }

    #[test]
    fn a_read_past_the_last_frame_is_refused() {
        let left = ChannelSource::new(stereo_i16(&[(1, 2)]), layout(1), 0, None, None);
        assert!(matches!(
            left.read_into(1, &mut [0.0]),
            Err(SignalError::OutOfRange { .. })
        ));
    }

    #[test]
    fn an_empty_read_of_an_empty_channel_succeeds() {
        // found by wav_fuzz: a header announcing 0 frames made the read
        // split its empty buffer into pieces of 0 frames and panic
        let empty = ChannelSource::new(stereo_i16(&[]), layout(0), 0, None, None);
        assert!(empty.read_into(0, &mut []).is_ok());
    }

    #[test]
    fn reads_larger_than_a_piece_are_split() {
        let count = PIECE_BYTES / 4 * 2 + 7;
        let frames: Vec<(i16, i16)> = (0..count).map(|i| ((i % 30000) as i16, 0)).collect();
        let left = ChannelSource::new(stereo_i16(&frames), layout(count as u64), 0, None, None);

        let mut buffer = vec![0.0; count - 3];
        left.read_into(3, &mut buffer).unwrap();

        assert!(
            buffer
                .iter()
                .enumerate()
                .all(|(i, &v)| v == ((i + 3) % 30000) as f64)
        );
    }
}
