//! Parent locators (VHD specification, "Dynamic Disk Header Format", Parent Locator Entries):
//! where a differencing disk's parent may be found, as a platform-specific path.

/// A parent locator's Platform Code.
///
/// ```
/// use vhd::PlatformCode;
/// assert_eq!(PlatformCode::W2RU.0, u32::from_be_bytes(*b"W2ru"));
/// assert_eq!(format!("{:?}", PlatformCode::W2KU), "W2ku");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlatformCode(pub u32);

impl PlatformCode {
    /// Unused entry.
    ///
    /// ```
    /// use vhd::{ParentLocator, PlatformCode};
    /// let unused = ParentLocator::default();
    /// assert_eq!(unused.platform, PlatformCode::NONE);
    /// assert!(unused.is_empty());
    /// ```
    pub const NONE: Self = Self(0);
    /// Deprecated: relative ASCII path.
    ///
    /// ```
    /// use vhd::{PlatformCode, encode_locator_path};
    /// let payload = encode_locator_path(PlatformCode::WI2R, r".\golden.vhd");
    /// assert_eq!(payload, br".\golden.vhd"); // one byte per character
    /// ```
    pub const WI2R: Self = Self(u32::from_be_bytes(*b"Wi2r"));
    /// Deprecated: absolute ASCII path.
    ///
    /// ```
    /// use vhd::{PlatformCode, decode_locator_path};
    /// let payload = b"C:\\images\\golden.vhd\0\0"; // NUL padding is dropped
    /// let path = decode_locator_path(PlatformCode::WI2K, payload);
    /// assert_eq!(path.as_deref(), Some(r"C:\images\golden.vhd"));
    /// ```
    pub const WI2K: Self = Self(u32::from_be_bytes(*b"Wi2k"));
    /// Relative path, UTF-16LE, e.g. `.\golden.vhd`.
    ///
    /// ```
    /// use vhd::{PlatformCode, encode_locator_path};
    /// let payload = encode_locator_path(PlatformCode::W2RU, ".\\é");
    /// assert_eq!(payload, [b'.', 0, b'\\', 0, 0xe9, 0]); // UTF-16LE
    /// ```
    pub const W2RU: Self = Self(u32::from_be_bytes(*b"W2ru"));
    /// Absolute path, UTF-16LE, e.g. `C:\images\golden.vhd`.
    ///
    /// ```
    /// use vhd::{PlatformCode, decode_locator_path, encode_locator_path};
    /// let payload = encode_locator_path(PlatformCode::W2KU, r"C:\images\golden.vhd");
    /// assert_eq!(payload.len(), 2 * 20);
    /// let path = decode_locator_path(PlatformCode::W2KU, &payload);
    /// assert_eq!(path.as_deref(), Some(r"C:\images\golden.vhd"));
    /// ```
    pub const W2KU: Self = Self(u32::from_be_bytes(*b"W2ku"));
    /// Mac OS alias blob.
    ///
    /// ```
    /// use vhd::{PlatformCode, decode_locator_path};
    /// // An alias is an opaque Mac OS record, not a path.
    /// assert_eq!(decode_locator_path(PlatformCode::MAC, b"alis"), None);
    /// ```
    pub const MAC: Self = Self(u32::from_be_bytes(*b"Mac "));
    /// File URL, UTF-8.
    ///
    /// ```
    /// use vhd::{PlatformCode, decode_locator_path};
    /// let url = b"file://localhost/srv/images/golden.vhd";
    /// let path = decode_locator_path(PlatformCode::MACX, url);
    /// assert_eq!(path.as_deref(), Some("/srv/images/golden.vhd"));
    /// ```
    pub const MACX: Self = Self(u32::from_be_bytes(*b"MacX"));
}

impl core::fmt::Debug for PlatformCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = self.0.to_be_bytes();
        if self.0 == 0 {
            f.write_str("None")
        } else if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            f.write_str(&String::from_utf8_lossy(&b))
        } else {
            write!(f, "PlatformCode({:#010x})", self.0)
        }
    }
}

/// Length of a parent locator entry.
pub(crate) const LOCATOR_LEN: usize = 24;

/// One parent locator entry of the dynamic header.
///
/// ```
/// use vhd::{ParentLocator, PlatformCode};
/// let loc = ParentLocator { platform: PlatformCode::W2RU, data_space: 512, data_length: 32,
///     data_offset: 4096 };
/// assert_eq!(ParentLocator::parse(&loc.to_bytes()), loc);
/// assert_eq!(loc.space_bytes(), 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParentLocator {
    /// Platform Code.
    pub platform: PlatformCode,
    /// Platform Data Space: the room reserved for the payload. The specification says
    /// sectors; Windows, VirtualBox and blktap write bytes (see [`ParentLocator::space_bytes`]).
    pub data_space: u32,
    /// Platform Data Length: the payload's length in bytes.
    pub data_length: u32,
    /// Platform Data Offset: the payload's byte offset in the file.
    pub data_offset: u64,
}

impl ParentLocator {
    /// Whether the entry is unused.
    ///
    /// ```
    /// use vhd::{ParentLocator, PlatformCode};
    /// assert!(ParentLocator::default().is_empty());
    /// let used = ParentLocator { platform: PlatformCode::W2RU, data_space: 512, data_length: 24,
    ///     data_offset: 2048 };
    /// assert!(!used.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.platform == PlatformCode::NONE
    }

    /// The reserved room in bytes: values below 512 are taken as sectors (the specification),
    /// others as bytes (what Windows writes), as blktap does.
    ///
    /// ```
    /// use vhd::{ParentLocator, PlatformCode};
    /// let mut loc = ParentLocator { platform: PlatformCode::W2KU, data_space: 1, data_length: 24,
    ///     data_offset: 2048 };
    /// assert_eq!(loc.space_bytes(), 512); // 1 sector, as the specification counts
    /// loc.data_space = 4096;
    /// assert_eq!(loc.space_bytes(), 4096); // bytes, as Windows writes
    /// ```
    pub fn space_bytes(&self) -> u64 {
        if self.data_space < 512 {
            u64::from(self.data_space) * 512
        } else {
            u64::from(self.data_space)
        }
    }

    /// Parses a 24-byte entry.
    ///
    /// ```
    /// use vhd::{ParentLocator, PlatformCode};
    /// let mut entry = [0u8; 24];
    /// entry[..4].copy_from_slice(b"W2ru");
    /// entry[8..12].copy_from_slice(&24u32.to_be_bytes()); // Platform Data Length
    /// let loc = ParentLocator::parse(&entry);
    /// assert_eq!((loc.platform, loc.data_length), (PlatformCode::W2RU, 24));
    /// ```
    pub fn parse(b: &[u8; LOCATOR_LEN]) -> Self {
        let be32 = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mut off = [0u8; 8];
        off.copy_from_slice(&b[16..24]);
        ParentLocator {
            platform: PlatformCode(be32(0)),
            data_space: be32(4),
            data_length: be32(8),
            data_offset: u64::from_be_bytes(off),
        }
    }

    /// The 24 bytes of the entry.
    ///
    /// ```
    /// use vhd::{ParentLocator, PlatformCode};
    /// let loc = ParentLocator { platform: PlatformCode::W2KU, data_space: 512, data_length: 40,
    ///     data_offset: 4096 };
    /// let bytes = loc.to_bytes();
    /// assert_eq!(&bytes[..4], b"W2ku");
    /// assert_eq!(bytes[16..], 4096u64.to_be_bytes()); // Platform Data Offset
    /// ```
    pub fn to_bytes(&self) -> [u8; LOCATOR_LEN] {
        let mut b = [0u8; LOCATOR_LEN];
        b[0..4].copy_from_slice(&self.platform.0.to_be_bytes());
        b[4..8].copy_from_slice(&self.data_space.to_be_bytes());
        b[8..12].copy_from_slice(&self.data_length.to_be_bytes());
        b[16..24].copy_from_slice(&self.data_offset.to_be_bytes());
        b
    }
}

/// Decodes a locator payload to a path in the form it was written (Windows separators kept),
/// or `None` for platforms without a path (Mac aliases) and undecodable payloads.
///
/// ```
/// use vhd::{PlatformCode, decode_locator_path, encode_locator_path};
/// let payload = encode_locator_path(PlatformCode::W2RU, r".\golden.vhd");
/// assert_eq!(payload.len(), 24); // UTF-16LE
/// assert_eq!(decode_locator_path(PlatformCode::W2RU, &payload).as_deref(), Some(r".\golden.vhd"));
/// ```
pub fn decode_locator_path(platform: PlatformCode, payload: &[u8]) -> Option<String> {
    match platform {
        PlatformCode::W2KU | PlatformCode::W2RU => {
            if !payload.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = payload
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let text = String::from_utf16(&units).ok()?;
            Some(text.trim_end_matches('\0').to_string())
        }
        PlatformCode::WI2K | PlatformCode::WI2R => {
            let text = core::str::from_utf8(payload).ok()?;
            Some(text.trim_end_matches('\0').to_string())
        }
        PlatformCode::MACX => {
            let text = core::str::from_utf8(payload).ok()?.trim_end_matches('\0');
            let path = text.strip_prefix("file://")?;
            Some(path.strip_prefix("localhost").unwrap_or(path).to_string())
        }
        _ => None,
    }
}

/// Encodes `path` as the payload of a `platform` locator (UTF-16LE for W2ku/W2ru, ASCII or
/// UTF-8 otherwise).
///
/// ```
/// use vhd::{PlatformCode, encode_locator_path};
/// assert_eq!(encode_locator_path(PlatformCode::W2RU, r".\a.vhd").len(), 14); // UTF-16LE
/// assert_eq!(encode_locator_path(PlatformCode::MACX, "file:///srv/a.vhd"), b"file:///srv/a.vhd");
/// ```
pub fn encode_locator_path(platform: PlatformCode, path: &str) -> Vec<u8> {
    match platform {
        PlatformCode::W2KU | PlatformCode::W2RU => {
            path.encode_utf16().flat_map(u16::to_le_bytes).collect()
        }
        _ => path.as_bytes().to_vec(),
    }
}
