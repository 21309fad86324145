//! Cylinder/head/sector geometry, computed as the VHD specification's appendix "CHS
//! Calculation" does.

/// A CHS geometry as stored in the footer.
///
/// ```
/// use vhd::Chs;
/// let chs = Chs::from_size(1 << 30);
/// assert_eq!(chs, Chs { cylinders: 2080, heads: 16, sectors: 63 });
/// assert_eq!(chs.size(), 1_073_479_680); // 256 KiB short of 1 GiB: the spec rounds down
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Chs {
    /// Cylinders.
    pub cylinders: u16,
    /// Heads.
    pub heads: u8,
    /// Sectors per track.
    pub sectors: u8,
}

/// The largest geometry: 65535 × 16 × 255 sectors (about 127.5 GiB).
///
/// ```
/// use vhd::{Chs, MAX_CHS};
/// assert_eq!(Chs::from_size(2 << 40), MAX_CHS); // larger disks are clamped
/// assert_eq!(MAX_CHS.size(), 65535 * 16 * 255 * 512);
/// ```
pub const MAX_CHS: Chs = Chs {
    cylinders: 65535,
    heads: 16,
    sectors: 255,
};

impl Chs {
    /// The geometry the specification assigns to a disk of `size` bytes (rounded down).
    ///
    /// ```
    /// use vhd::Chs;
    /// assert_eq!(Chs::from_size(20 << 20), Chs { cylinders: 602, heads: 4, sectors: 17 });
    /// ```
    pub fn from_size(size: u64) -> Chs {
        let mut total = size / 512;
        if total > 65535 * 16 * 255 {
            total = 65535 * 16 * 255;
        }
        let (spt, heads, cth);
        if total >= 65535 * 16 * 63 {
            spt = 255;
            heads = 16;
            cth = total / spt;
        } else {
            let mut s = 17;
            let mut c = total / s;
            let mut h = c.div_ceil(1024).max(4);
            if c >= h * 1024 || h > 16 {
                s = 31;
                h = 16;
                c = total / s;
            }
            if c >= h * 1024 {
                s = 63;
                h = 16;
                c = total / s;
            }
            (spt, heads, cth) = (s, h, c);
        }
        Chs {
            cylinders: u16::try_from(cth / heads).unwrap_or(u16::MAX),
            heads: heads as u8,
            sectors: spt as u8,
        }
    }

    /// The smallest geometry of the specification's algorithm that holds `size` bytes, and its
    /// size (what qemu-img does by default): for tools that size disks by CHS.
    ///
    /// ```
    /// use vhd::Chs;
    /// let (chs, size) = Chs::round_up(1 << 30);
    /// assert_eq!(chs, Chs { cylinders: 2081, heads: 16, sectors: 63 });
    /// assert_eq!(size, 1_073_995_776);
    /// ```
    pub fn round_up(size: u64) -> (Chs, u64) {
        // qemu-img adds sectors until the geometry covers the size (`vpc_co_create`); one
        // track of the largest shape (255 × 16 sectors) always suffices.
        let sectors = size.div_ceil(512);
        for extra in 0..=255 * 16 {
            let chs = Chs::from_size((sectors + extra) * 512);
            if chs.size() >= size || chs == MAX_CHS {
                return (chs, size.max(chs.size()));
            }
        }
        (MAX_CHS, size)
    }

    /// Bytes addressed by this geometry.
    ///
    /// ```
    /// let chs = vhd::Chs { cylinders: 602, heads: 4, sectors: 17 };
    /// assert_eq!(chs.size(), 602 * 4 * 17 * 512);
    /// ```
    pub fn size(self) -> u64 {
        u64::from(self.cylinders) * u64::from(self.heads) * u64::from(self.sectors) * 512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vectors of the reference notes (computed by the spec's algorithm, with qemu-img
    /// confirming 1 GiB).
    #[test]
    fn spec_geometry_vectors() {
        let mib = 1u64 << 20;
        let gib = 1u64 << 30;
        for (size, c, h, s) in [
            (mib, 30, 4, 17),
            (20 * mib, 602, 4, 17),
            (100 * mib, 1003, 12, 17),
            (256 * mib, 520, 16, 63),
            (gib, 2080, 16, 63),
            (5 * gib, 10402, 16, 63),
            (10 * gib, 20805, 16, 63),
            (65535 * 16 * 63 * 512, 16191, 16, 255),
            (32 * gib, 16448, 16, 255),
            (127 * gib, 65278, 16, 255),
            (128 * gib, 65535, 16, 255),
            (2000 * gib, 65535, 16, 255),
        ] {
            assert_eq!(
                Chs::from_size(size),
                Chs {
                    cylinders: c,
                    heads: h,
                    sectors: s
                },
                "{size}"
            );
        }
    }

    #[test]
    fn round_up_matches_qemu_img() {
        assert_eq!(Chs::round_up(10 << 30).1, 10_737_893_376);
        assert_eq!(Chs::round_up(5 << 30).1, 5_368_946_688);
        let exact = 65535 * 16 * 63 * 512;
        assert_eq!(Chs::round_up(exact).1, exact);
    }
}
