//! The memory budget of a job: how many bytes of the process's own memory a
//! transform may hold at once, parsed from text such as "512MiB".
//!
//! Units: `B`, `K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB` are binary (1024),
//! as Docker and most command-line tools read "2G"; `KB`, `MB`, `GB`, `TB`
//! are decimal. The default is a quarter of the machine's memory.

use std::fmt;
use std::str::FromStr;

use crate::SpectralError;

/// A number of bytes a job may keep in its own memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryBudget(u64);

/// Used when the machine's memory cannot be read: 1 GiB.
const FALLBACK_BYTES: u64 = 1 << 30;

impl MemoryBudget {
    /// A budget of `bytes` bytes.
    pub fn from_bytes(bytes: u64) -> Self {
        Self(bytes)
    }

    /// The budget in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// A quarter of the machine's memory (`MemTotal` in /proc/meminfo), or
    /// 1 GiB where that cannot be read.
    pub fn machine_default() -> Self {
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| mem_total_bytes(&text));
        Self(total.map_or(FALLBACK_BYTES, |bytes| bytes / 4))
    }

    /// Reads "512MiB", "1GiB", "2G", "1.5GB", "65536".
    ///
    /// # Errors
    /// [`SpectralError::Budget`] for text that is not a positive size.
    pub fn parse(text: &str) -> Result<Self, SpectralError> {
        let refuse = || SpectralError::Budget {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);

        let number: f64 = number.parse().map_err(|_| refuse())?;
        let multiplier = unit_multiplier(unit.trim()).ok_or_else(refuse)?;
        let bytes = number * multiplier as f64;
        if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
            return Err(refuse());
        }
        Ok(Self(bytes as u64))
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self::machine_default()
    }
}

impl FromStr for MemoryBudget {
    type Err = SpectralError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", human_bytes(self.0))
    }
}

/// "1.5 GiB", "512 MiB", "300 B".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn unit_multiplier(unit: &str) -> Option<u64> {
    let binary = |power: u32| Some(1u64 << (10 * power));
    let decimal = |power: u32| Some(1000u64.pow(power));
    match unit.to_ascii_lowercase().as_str() {
        "" | "b" => Some(1),
        "k" | "kib" => binary(1),
        "m" | "mib" => binary(2),
        "g" | "gib" => binary(3),
        "t" | "tib" => binary(4),
        "kb" => decimal(1),
        "mb" => decimal(2),
        "gb" => decimal(3),
        "tb" => decimal(4),
        _ => None,
    }
}

fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_units_are_read() {
        assert_eq!(MemoryBudget::parse("512MiB").unwrap().bytes(), 512 << 20);
        assert_eq!(MemoryBudget::parse("1GiB").unwrap().bytes(), 1 << 30);
        assert_eq!(MemoryBudget::parse("2G").unwrap().bytes(), 2 << 30);
        assert_eq!(MemoryBudget::parse("1.5GB").unwrap().bytes(), 1_500_000_000);
        assert_eq!(MemoryBudget::parse(" 65536 ").unwrap().bytes(), 65536);
        assert_eq!(MemoryBudget::parse("64 kib").unwrap().bytes(), 65536);
    }

    #[test]
    fn nonsense_budgets_are_refused_with_an_example() {
        for text in ["", "abc", "12XB", "0", "-1G", "1..2M"] {
            let error = MemoryBudget::parse(text).unwrap_err().to_string();
            assert!(
                error.contains("use a size such as 512MiB"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn meminfo_total_is_read_in_bytes() {
        let text = "MemTotal:       24576000 kB\nMemFree: 1 kB\n";
        assert_eq!(mem_total_bytes(text), Some(24_576_000 * 1024));
    }

    #[test]
    fn human_sizes_read_naturally() {
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(human_bytes(100), "100 B");
    }
}
