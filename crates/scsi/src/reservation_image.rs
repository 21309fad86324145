//! The saved form of a logical unit's persistent reservations (what APTPL asks to survive a
//! power loss), as [`ReservationStore`](crate::ReservationStore) keeps it.
//!
//! Layout, big-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `SCSIPR01` |
//! | 8..12 | PRGENERATION |
//! | 12 | flags: bit 0 APTPL, bit 1 a reservation is held |
//! | 13 | the reservation's TYPE (0 when none) |
//! | 14..16 | index of the holder's registration (0 when none) |
//! | 16..18 | number of registrations (at most 64) |
//! | 18.. | each registration: key (8), flags (1: bit 0 ALL_TG_PT, bit 1 ISID present), ISID (6), name length (1, at most 223), name (UTF-8) |
//!
//! Decoding checks every field and that the input ends with the last registration, so a
//! damaged file is an error, never a reservation nobody took.

use std::sync::Arc;

use crate::error::Error;
use crate::reservation::{MAX_REGISTRATIONS, Port, PrHolder, PrType, Registration, Reservations};
use crate::transport_id::MAX_ISCSI_NAME_LEN;

/// First bytes of an image (the last two are the layout version).
const MAGIC: &[u8; 8] = b"SCSIPR01";

/// Bytes before the first registration.
const HEAD: usize = 18;

/// The image of the persistent part of `r` (registrations, reservation, APTPL).
pub(crate) fn encode(r: &Reservations) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + r.registrations.len() * 40);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&r.generation.to_be_bytes());
    let holder = r.holder.as_ref().and_then(|h| {
        let at = r.registrations.iter().position(|x| x.port == h.port)?;
        Some((h.kind, at))
    });
    out.push(u8::from(r.aptpl) | u8::from(holder.is_some()) << 1);
    out.push(holder.map_or(0, |(k, _)| k as u8));
    out.extend_from_slice(&(holder.map_or(0, |(_, at)| at) as u16).to_be_bytes());
    let regs = &r.registrations[..r.registrations.len().min(MAX_REGISTRATIONS)];
    out.extend_from_slice(&(regs.len() as u16).to_be_bytes());
    for reg in regs {
        out.extend_from_slice(&reg.key.to_be_bytes());
        out.push(u8::from(reg.all_tg_pt) | u8::from(reg.port.isid.is_some()) << 1);
        out.extend_from_slice(&reg.port.isid.unwrap_or_default());
        let name = &reg.port.name.as_bytes()[..reg.port.name.len().min(MAX_ISCSI_NAME_LEN)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
    }
    out
}

/// Reads an image back.
///
/// # Errors
///
/// [`Error::Truncated`] or [`Error::InvalidField`] naming the first field that is wrong.
pub(crate) fn decode(b: &[u8]) -> Result<Reservations, Error> {
    let take = |at: usize, n: usize| {
        b.get(at..at + n).ok_or(Error::Truncated {
            needed: at + n,
            have: b.len(),
        })
    };
    let bad = |field: &'static str, offset: usize| Error::InvalidField { field, offset };
    if take(0, 8)? != MAGIC {
        return Err(bad("reservation image magic", 0));
    }
    let head = take(8, HEAD - 8)?;
    let generation = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let flags = head[4];
    if flags & !3 != 0 {
        return Err(bad("reservation image flags", 12));
    }
    let holder_index = usize::from(u16::from_be_bytes([head[6], head[7]]));
    let count = usize::from(u16::from_be_bytes([head[8], head[9]]));
    if count > MAX_REGISTRATIONS {
        return Err(bad("registration count", 16));
    }
    let kind = if flags & 2 != 0 {
        let kind = PrType::from_u8(head[5]).ok_or(bad("reservation type", 13))?;
        if holder_index >= count {
            return Err(bad("holder index", 14));
        }
        Some(kind)
    } else {
        if head[5] != 0 || holder_index != 0 {
            return Err(bad("reservation type", 13));
        }
        None
    };
    let mut registrations: Vec<Registration> = Vec::with_capacity(count);
    let mut at = HEAD;
    for _ in 0..count {
        let fixed = take(at, 16)?;
        let key = u64::from_be_bytes(fixed[..8].try_into().unwrap_or_default());
        let reg_flags = fixed[8];
        if reg_flags & !3 != 0 {
            return Err(bad("registration flags", at + 8));
        }
        let mut isid = [0u8; 6];
        isid.copy_from_slice(&fixed[9..15]);
        if reg_flags & 2 == 0 && isid != [0; 6] {
            return Err(bad("registration", at + 9));
        }
        let name_len = usize::from(fixed[15]);
        if name_len == 0 || name_len > MAX_ISCSI_NAME_LEN {
            return Err(bad("initiator name length", at + 15));
        }
        let name = core::str::from_utf8(take(at + 16, name_len)?)
            .map_err(|_| bad("initiator name", at + 16))?;
        let port = Port {
            name: Arc::from(name),
            isid: (reg_flags & 2 != 0).then_some(isid),
        };
        if key == 0 || registrations.iter().any(|r| r.port == port) {
            return Err(bad("registration", at));
        }
        registrations.push(Registration {
            port,
            key,
            all_tg_pt: reg_flags & 1 != 0,
        });
        at += 16 + name_len;
    }
    if at != b.len() {
        return Err(bad("trailing bytes", at));
    }
    let holder = kind.map(|kind| PrHolder {
        port: registrations[holder_index].port.clone(),
        kind,
    });
    Ok(Reservations {
        spc2: None,
        generation,
        registrations,
        holder,
        aptpl: flags & 1 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Reservations {
        let port = |name: &str, isid: Option<[u8; 6]>| Port {
            name: Arc::from(name),
            isid,
        };
        Reservations {
            spc2: None,
            generation: 7,
            registrations: vec![
                Registration {
                    port: port("iqn.a", Some([0x80, 0, 0, 0, 0, 1])),
                    key: 0xaa,
                    all_tg_pt: false,
                },
                Registration {
                    port: port("iqn.b", None),
                    key: 0xbb,
                    all_tg_pt: true,
                },
            ],
            holder: Some(PrHolder {
                port: port("iqn.b", None),
                kind: PrType::WriteExclusiveRegistrantsOnly,
            }),
            aptpl: true,
        }
    }

    #[test]
    fn image_round_trips() {
        let r = sample();
        assert_eq!(decode(&encode(&r)), Ok(r));
        let empty = Reservations::default();
        assert_eq!(decode(&encode(&empty)), Ok(empty));
    }

    #[test]
    fn damaged_images_are_refused() {
        let good = encode(&sample());
        let field = |b: &[u8]| match decode(b) {
            Err(Error::InvalidField { field, .. }) => field,
            Err(Error::Truncated { .. }) => "truncated",
            other => panic!("{other:?}"),
        };
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(field(&b), "reservation image magic");
        let mut b = good.clone();
        b[13] = 2; // not a type
        assert_eq!(field(&b), "reservation type");
        let mut b = good.clone();
        b[15] = 2; // holder index past the registrations
        assert_eq!(field(&b), "holder index");
        let mut b = good.clone();
        b[17] = 65;
        assert_eq!(field(&b), "registration count");
        let mut b = good.clone();
        b.push(0);
        assert_eq!(field(&b), "trailing bytes");
        let mut b = good.clone();
        b[HEAD..HEAD + 8].fill(0); // key 0 registers nothing
        assert_eq!(field(&b), "registration");
        let mut b = good.clone();
        let second = HEAD + 16 + "iqn.a".len();
        b[second + 9] = 1; // an ISID without the flag that says there is one
        assert_eq!(field(&b), "registration");
    }

    proptest! {
        #[test]
        fn any_decodable_image_encodes_back_to_itself(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut input = MAGIC.to_vec();
            input.extend_from_slice(&b);
            if let Ok(r) = decode(&input) {
                prop_assert_eq!(encode(&r), input);
            }
        }

        #[test]
        fn generated_states_round_trip(
            generation in any::<u32>(),
            aptpl in any::<bool>(),
            regs in proptest::collection::vec(("[a-z]{1,20}", proptest::option::of(any::<[u8; 6]>()), 1u64.., any::<bool>()), 0..8),
            holder in proptest::option::of((0usize..8, 1u8..=8)),
        ) {
            let mut registrations: Vec<Registration> = Vec::new();
            for (name, isid, key, all_tg_pt) in regs {
                let port = Port { name: Arc::from(name.as_str()), isid };
                if !registrations.iter().any(|r| r.port == port) {
                    registrations.push(Registration { port, key, all_tg_pt });
                }
            }
            let holder = holder.and_then(|(i, t)| {
                let kind = PrType::from_u8(t)?;
                let port = registrations.get(i)?.port.clone();
                Some(PrHolder { port, kind })
            });
            let r = Reservations { spc2: None, generation, registrations, holder, aptpl };
            prop_assert_eq!(decode(&encode(&r)), Ok(r));
        }
    }
}
