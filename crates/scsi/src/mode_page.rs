//! Mode pages (SPC-4 §7.5, SBC-3 §6.4): Read-Write Error Recovery, Caching, Control and
//! Informational Exceptions Control, with current, changeable and default values.

use crate::sense::Sense;

/// The changeable mode parameters of a logical unit (current values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ModeState {
    /// Caching page WCE: writes may complete before they are durable (SYNCHRONIZE CACHE and
    /// FUA make them so). When clear, every write is forced unit access.
    pub(crate) wce: bool,
    /// Control page D_SENSE: descriptor format sense data.
    pub(crate) d_sense: bool,
    /// Control page SWP: software write protect.
    pub(crate) swp: bool,
}

impl Default for ModeState {
    fn default() -> Self {
        ModeState {
            wce: true,
            d_sense: false,
            swp: false,
        }
    }
}

/// Page control (PC) field values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageControl {
    Current,
    Changeable,
    Default,
}

/// The page codes this crate implements, in the order MODE SENSE returns them.
pub(crate) const PAGES: [u8; 4] = [0x01, 0x08, 0x0a, 0x1c];

/// Read-Write Error Recovery page code.
const RW_ERROR_RECOVERY: u8 = 0x01;
/// Caching page code.
const CACHING: u8 = 0x08;
/// Control page code.
const CONTROL: u8 = 0x0a;
/// Informational Exceptions Control page code.
const INFO_EXCEPTIONS: u8 = 0x1c;

/// The bytes of page `code` (header included) for `pc`, or `None` for an unknown page.
pub(crate) fn page(code: u8, state: ModeState, pc: PageControl) -> Option<Vec<u8>> {
    let values = match pc {
        PageControl::Current => state,
        _ => ModeState::default(),
    };
    let changeable = pc == PageControl::Changeable;
    let mut p = match code {
        RW_ERROR_RECOVERY => {
            let mut p = vec![0u8; 12];
            if !changeable {
                p[2] = 0xc0; // AWRE, ARRE
            }
            p
        }
        CACHING => {
            let mut p = vec![0u8; 20];
            if changeable {
                p[2] = 0x04; // WCE
            } else if values.wce {
                p[2] = 0x04;
            }
            p
        }
        CONTROL => {
            let mut p = vec![0u8; 12];
            if changeable {
                p[2] = 0x04; // D_SENSE
                p[4] = 0x08; // SWP
            } else {
                p[2] = if values.d_sense { 0x04 } else { 0 };
                p[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering
                p[4] = if values.swp { 0x08 } else { 0 };
                p[5] = 0x40; // TAS
                p[8] = 0xff; // BUSY TIMEOUT PERIOD: unlimited
                p[9] = 0xff;
            }
            p
        }
        INFO_EXCEPTIONS => {
            let mut p = vec![0u8; 12];
            if !changeable {
                p[2] = 0x08; // DEXCPT: no informational exceptions reporting
            }
            p
        }
        _ => return None,
    };
    p[0] = code;
    p[1] = (p.len() - 2) as u8;
    Some(p)
}

/// Applies the pages of a MODE SELECT parameter list (after the header and block
/// descriptors, which start at `offset` of the data) to `state`. Only changeable bits may
/// differ from the current values.
///
/// # Errors
///
/// INVALID FIELD IN PARAMETER LIST pointing at the offending byte, or PARAMETER LIST LENGTH
/// ERROR for a page cut short.
pub(crate) fn apply(state: &mut ModeState, data: &[u8], offset: usize) -> Result<(), Sense> {
    let mut new = *state;
    let mut at = offset;
    while at < data.len() {
        let Some(&[b0, len]) = data
            .get(at..at + 2)
            .and_then(|s| <&[u8; 2]>::try_from(s).ok())
        else {
            return Err(Sense::new(
                crate::SenseKey::ILLEGAL_REQUEST,
                crate::AscAscq::PARAMETER_LIST_LENGTH_ERROR,
            ));
        };
        if b0 & 0x40 != 0 {
            // Sub-page format: no sub-pages are implemented.
            return Err(Sense::invalid_parameter_field(at as u16, Some(6)));
        }
        let code = b0 & 0x3f;
        let Some(current) = page(code, new, PageControl::Current) else {
            return Err(Sense::invalid_parameter_field(at as u16, Some(5)));
        };
        let Some(mask) = page(code, new, PageControl::Changeable) else {
            return Err(Sense::invalid_parameter_field(at as u16, Some(5)));
        };
        if usize::from(len) + 2 != current.len() {
            return Err(Sense::invalid_parameter_field(at as u16 + 1, None));
        }
        let Some(given) = data.get(at..at + current.len()) else {
            return Err(Sense::new(
                crate::SenseKey::ILLEGAL_REQUEST,
                crate::AscAscq::PARAMETER_LIST_LENGTH_ERROR,
            ));
        };
        for i in 2..current.len() {
            let diff = (given[i] ^ current[i]) & !mask[i];
            if diff != 0 {
                let bit = 7 - diff.leading_zeros() as u8;
                return Err(Sense::invalid_parameter_field((at + i) as u16, Some(bit)));
            }
        }
        match code {
            CACHING => new.wce = given[2] & 0x04 != 0,
            CONTROL => {
                new.d_sense = given[2] & 0x04 != 0;
                new.swp = given[4] & 0x08 != 0;
            }
            _ => {}
        }
        at += current.len();
    }
    *state = new;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changeable_masks_cover_only_implemented_bits() {
        let s = ModeState::default();
        assert_eq!(page(CACHING, s, PageControl::Changeable).unwrap()[2], 0x04);
        assert_eq!(page(CONTROL, s, PageControl::Changeable).unwrap()[2], 0x04);
        assert!(page(0x3e, s, PageControl::Current).is_none());
    }

    #[test]
    fn select_sets_d_sense_and_rejects_fixed_bits() {
        let mut s = ModeState::default();
        let mut control = page(CONTROL, s, PageControl::Current).unwrap();
        control[2] |= 0x04;
        apply(&mut s, &control, 0).unwrap();
        assert!(s.d_sense);
        control[3] = 0; // QUEUE ALGORITHM MODIFIER is not changeable
        let err = apply(&mut s, &control, 0).unwrap_err();
        assert_eq!(
            err.specific,
            Some(crate::SenseSpecific::Field {
                cdb: false,
                byte: 3,
                bit: Some(4)
            })
        );
    }
}
