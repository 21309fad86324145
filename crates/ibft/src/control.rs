//! The Control structure ("Layout: Control", structure ID 1): at byte 48, it points to the
//! Initiator and to up to two NIC and two Target structures.

use crate::acpi::TABLE_HEADER_LEN;
use crate::structure::{StructureView, checked_view};
use crate::{ControlFlags, Error, Location};

/// Length of the Control structure with two NIC/Target pairs. The spec lets it grow by 2 bytes
/// per further offset ("Optional Structure Expansion"), but Linux requires exactly 18 and refuses
/// the whole table otherwise, so this crate reads and writes only this form.
///
/// ```
/// use ibft::{CONTROL_LEN, Ibft, TABLE_HEADER_LEN};
/// let bytes = Ibft::default().to_bytes()?;
/// // The Control structure's Length field, after its ID and version bytes.
/// let len = u16::from_le_bytes([bytes[TABLE_HEADER_LEN + 2], bytes[TABLE_HEADER_LEN + 3]]);
/// assert_eq!(usize::from(len), CONTROL_LEN);
/// # Ok::<(), ibft::Error>(())
/// ```
pub const CONTROL_LEN: usize = 18;

/// Byte offsets of the Control structure, relative to its start.
pub(crate) mod field {
    /// Offset of an optional Extensions structure (0: none).
    pub(crate) const EXTENSIONS: usize = 6;
    /// Offset of the Initiator structure.
    pub(crate) const INITIATOR: usize = 8;
    /// Offset of NIC 0.
    pub(crate) const NIC0: usize = 10;
    /// Offset of Target 0.
    pub(crate) const TARGET0: usize = 12;
    /// Offset of NIC 1.
    pub(crate) const NIC1: usize = 14;
    /// Offset of Target 1.
    pub(crate) const TARGET1: usize = 16;
}

/// The meaning of the Control structure: only its flags. The structure offsets are layout,
/// which emitting computes.
///
/// ```
/// use ibft::{Control, ControlFlags};
/// assert_eq!(Control::default().flags, ControlFlags(0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Control {
    /// The flags (bit 0: single login / boot failover).
    pub flags: ControlFlags,
}

/// The offsets the Control structure holds; 0 means "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Slots {
    pub(crate) extensions: u16,
    pub(crate) initiator: u16,
    pub(crate) nics: [u16; 2],
    pub(crate) targets: [u16; 2],
}

impl Control {
    /// Reads the Control structure at byte 48 of `table`.
    ///
    /// Linux's checks: structure ID 1, length 18 and index 0 ("Control header is invalid!");
    /// this crate also requires version 1.
    pub(crate) fn parse(table: &[u8]) -> Result<(Control, Slots), Error> {
        let offset = TABLE_HEADER_LEN;
        let view = checked_view(table, offset, CONTROL_LEN, Location::Control)?;
        if view.index() != 0 {
            return Err(Error::StructureHeader {
                structure: Location::Control,
                offset,
                field: "index",
                found: view.index().into(),
                expected: 0,
            });
        }
        let slots = Slots {
            extensions: view.u16_at(field::EXTENSIONS),
            initiator: view.u16_at(field::INITIATOR),
            nics: [view.u16_at(field::NIC0), view.u16_at(field::NIC1)],
            targets: [view.u16_at(field::TARGET0), view.u16_at(field::TARGET1)],
        };
        Ok((
            Control {
                flags: ControlFlags(view.flags().0),
            },
            slots,
        ))
    }

    /// Writes the Control structure at byte 48 of `table`.
    pub(crate) fn emit(&self, table: &mut [u8], slots: &Slots) {
        let end = TABLE_HEADER_LEN + CONTROL_LEN;
        let Some(bytes) = table.get_mut(TABLE_HEADER_LEN..end) else {
            return;
        };
        let mut view = StructureView::new_unchecked(bytes);
        view.set_header(
            Location::Control.structure_id(),
            CONTROL_LEN,
            0,
            crate::Flags(self.flags.0),
        );
        view.set_u16(field::EXTENSIONS, slots.extensions);
        view.set_u16(field::INITIATOR, slots.initiator);
        view.set_u16(field::NIC0, slots.nics[0]);
        view.set_u16(field::TARGET0, slots.targets[0]);
        view.set_u16(field::NIC1, slots.nics[1]);
        view.set_u16(field::TARGET1, slots.targets[1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table header's worth of zeros, then a Control structure.
    fn table(control: [u8; CONTROL_LEN]) -> alloc::vec::Vec<u8> {
        let mut t = alloc::vec![0u8; TABLE_HEADER_LEN];
        t.extend_from_slice(&control);
        t
    }

    const IPXE_CONTROL: [u8; CONTROL_LEN] = [
        0x01, // structure ID: Control
        0x01, // version
        0x12, 0x00, // length 18
        0x00, // index
        0x00, // flags
        0x00, 0x00, // extensions: none
        0x50, 0x00, // initiator at 0x50
        0xa0, 0x00, // NIC 0 at 0xa0
        0x80, 0x01, // target 0 at 0x180
        0x00, 0x00, // NIC 1: absent
        0x00, 0x00, // target 1: absent
    ];

    #[test]
    fn parses_ipxe_control() {
        let (control, slots) = Control::parse(&table(IPXE_CONTROL)).unwrap();
        assert_eq!(control, Control::default());
        assert_eq!(
            slots,
            Slots {
                extensions: 0,
                initiator: 0x50,
                nics: [0xa0, 0],
                targets: [0x180, 0],
            }
        );
    }

    #[test]
    fn emits_ipxe_control() {
        let slots = Slots {
            extensions: 0,
            initiator: 0x50,
            nics: [0xa0, 0],
            targets: [0x180, 0],
        };
        let mut t = alloc::vec![0u8; TABLE_HEADER_LEN + CONTROL_LEN];
        Control::default().emit(&mut t, &slots);
        assert_eq!(t, table(IPXE_CONTROL));
    }

    #[test]
    fn rejects_expanded_control_and_nonzero_index() {
        let mut expanded = IPXE_CONTROL;
        expanded[2] = 22;
        let mut t = table(expanded);
        t.extend_from_slice(&[0; 4]);
        assert!(matches!(
            Control::parse(&t),
            Err(Error::StructureHeader {
                field: "length",
                found: 22,
                expected: 18,
                ..
            })
        ));
        let mut indexed = IPXE_CONTROL;
        indexed[4] = 1;
        assert!(matches!(
            Control::parse(&table(indexed)),
            Err(Error::StructureHeader {
                field: "index",
                found: 1,
                ..
            })
        ));
    }
}
