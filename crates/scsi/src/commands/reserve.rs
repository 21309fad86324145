//! RESERVE(6)/(10), RELEASE(6)/(10) (SPC-2 §7.21-7.24) and PERSISTENT RESERVE IN/OUT
//! (SPC-4 §6.15, §6.16, §5.9). The access rules live in [`crate::reservation`]; the
//! pipeline has already refused conflicting commands.

use super::{Ctx, Done, Fail, Outcome, PARAMETER_LIST_LENGTH_ERROR};
use crate::cdb::field;
use crate::lu::{LuState, NexusKey};
use crate::reservation::{MAX_REGISTRATIONS, PrHolder, PrType, Registration};
use crate::sense::{AscAscq, Sense, SenseKey};
use crate::status::Status;

/// RESERVE(6)/(10): the nexus takes (or keeps) the SPC-2 reservation.
pub(crate) fn reserve(ctx: &Ctx<'_>) -> Outcome {
    let mut st = ctx.lu.lock();
    match &st.reservations.spc2 {
        Some(holder) if holder != ctx.key => Err(Fail::Status(Status::RESERVATION_CONFLICT)),
        _ => {
            st.reservations.spc2 = Some(ctx.key.clone());
            Done::good()
        }
    }
}

/// RELEASE(6)/(10): releases the nexus's SPC-2 reservation; releasing another's (or none)
/// is not an error and changes nothing.
pub(crate) fn release(ctx: &Ctx<'_>) -> Outcome {
    let mut st = ctx.lu.lock();
    if st.reservations.spc2.as_ref() == Some(ctx.key) {
        st.reservations.spc2 = None;
    }
    Done::good()
}

/// The TYPE field of a reservation as this crate reports it.
fn type_code(kind: PrType) -> u8 {
    kind as u8
}

/// An iSCSI TransportID (SPC-4 §7.6.4.6) in the initiator port format: `name,i,0x<ISID>`,
/// NUL terminated and padded to a multiple of 4.
fn transport_id(key: &NexusKey) -> Vec<u8> {
    let mut id: Vec<u8> = key.name.bytes().take(200).collect();
    id.extend_from_slice(b",i,0x");
    for b in key.isid {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        id.push(HEX[usize::from(b >> 4)]);
        id.push(HEX[usize::from(b & 15)]);
    }
    id.push(0);
    while id.len() % 4 != 0 {
        id.push(0);
    }
    let mut out = vec![0x45, 0]; // FORMAT CODE 01b, PROTOCOL IDENTIFIER 5 (iSCSI)
    out.extend_from_slice(&(id.len() as u16).to_be_bytes());
    out.extend_from_slice(&id);
    out
}

/// PERSISTENT RESERVE IN: READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL
/// STATUS.
pub(crate) fn persistent_reserve_in(ctx: &Ctx<'_>) -> Outcome {
    let sa = field::u8_at(ctx.cdb, 1) & 0x1f;
    let alloc = usize::from(field::u16_at(ctx.cdb, 7));
    let st = ctx.lu.lock();
    let r = &st.reservations;
    let mut d = Vec::new();
    d.extend_from_slice(&r.generation.to_be_bytes());
    match sa {
        0x00 => {
            let n = r.registrations.len().min(MAX_REGISTRATIONS);
            d.extend_from_slice(&((n * 8) as u32).to_be_bytes());
            for reg in r.registrations.iter().take(n) {
                d.extend_from_slice(&reg.key.to_be_bytes());
            }
        }
        0x01 => match &r.holder {
            Some(h) => {
                d.extend_from_slice(&16u32.to_be_bytes());
                let key = if h.kind.all_registrants() {
                    0
                } else {
                    r.key_of(&h.nexus).unwrap_or(0)
                };
                d.extend_from_slice(&key.to_be_bytes());
                d.extend_from_slice(&[0; 4]); // obsolete
                d.push(0);
                d.push(type_code(h.kind)); // SCOPE 0 (LU_SCOPE), TYPE
                d.extend_from_slice(&[0; 2]);
            }
            None => d.extend_from_slice(&0u32.to_be_bytes()),
        },
        0x02 => {
            d.clear();
            d.extend_from_slice(&8u16.to_be_bytes()); // LENGTH
            d.push(0); // RLR_C, CRH, SIP_C, ATP_C, PTPL_C: none
            d.push(0x80); // TMV; ALLOW COMMANDS 0; PTPL_A 0
            // PERSISTENT RESERVATION TYPE MASK: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX;
            // EX_AC_AR.
            d.push(0x80 | 0x40 | 0x20 | 0x08 | 0x02);
            d.push(0x01);
            d.extend_from_slice(&[0; 2]);
        }
        _ => {
            let mut body = Vec::new();
            for reg in r.registrations.iter().take(MAX_REGISTRATIONS) {
                let holder = r.holder.as_ref().filter(|_| r.is_holder(&reg.nexus));
                body.extend_from_slice(&reg.key.to_be_bytes());
                body.extend_from_slice(&[0; 4]);
                body.push(u8::from(holder.is_some())); // R_HOLDER
                body.push(holder.map_or(0, |h| type_code(h.kind)));
                body.extend_from_slice(&[0; 4]);
                body.extend_from_slice(&1u16.to_be_bytes()); // RELATIVE TARGET PORT IDENTIFIER
                let id = transport_id(&reg.nexus);
                body.extend_from_slice(&(id.len() as u32).to_be_bytes());
                body.extend_from_slice(&id);
            }
            d.extend_from_slice(&(body.len() as u32).to_be_bytes());
            d.extend_from_slice(&body);
        }
    }
    Done::data(d, alloc)
}

/// Queues `code` for the registered nexuses in `who`.
fn notify(st: &mut LuState, who: &[NexusKey], code: AscAscq) {
    for k in who {
        if let Some(n) = st.nexuses.get_mut(k) {
            n.ua.push(code);
        }
    }
}

/// PERSISTENT RESERVE OUT: REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT,
/// REGISTER AND IGNORE EXISTING KEY, with the 24 byte parameter list (SPEC_I_PT, ALL_TG_PT
/// and APTPL are not supported: REPORT CAPABILITIES says so).
pub(crate) fn persistent_reserve_out(ctx: &Ctx<'_>) -> Outcome {
    let sa = field::u8_at(ctx.cdb, 1) & 0x1f;
    let scope_type = field::u8_at(ctx.cdb, 2);
    let len = field::u32_at(ctx.cdb, 5) as usize;
    if len != 24 {
        return Err(PARAMETER_LIST_LENGTH_ERROR.into());
    }
    let list = ctx.parameter_list(24)?;
    let key = field::u64_at(list, 0);
    let sa_key = field::u64_at(list, 8);
    let flags = list[20];
    if flags & 0x08 != 0 {
        return Err(Sense::invalid_parameter_field(20, Some(3)).into());
    }
    // ALL_TG_PT and APTPL count for the register service actions only ("shall be ignored
    // for all other service actions"); neither capability is offered.
    let registering = matches!(sa, 0x00 | 0x06);
    if registering && flags & 0x04 != 0 {
        return Err(Sense::invalid_parameter_field(20, Some(2)).into());
    }
    if registering && flags & 0x01 != 0 {
        return Err(Sense::invalid_parameter_field(20, Some(0)).into());
    }
    let needs_type = matches!(sa, 0x01 | 0x02 | 0x04 | 0x05);
    let kind = PrType::from_u8(scope_type & 0x0f);
    if needs_type {
        if scope_type >> 4 != 0 {
            return Err(Sense::invalid_cdb_field(2, Some(7)).into());
        }
        if kind.is_none() {
            return Err(Sense::invalid_cdb_field(2, Some(3)).into());
        }
    }
    let conflict = Err(Fail::Status(Status::RESERVATION_CONFLICT));
    let me = ctx.key;
    let mut st = ctx.lu.lock();
    let registered = st.reservations.key_of(me);
    // Every service action but REGISTER AND IGNORE EXISTING KEY checks the key.
    if sa != 0x06 {
        match registered {
            Some(k) if k == key => {}
            None if sa == 0x00 && key == 0 => {}
            _ => return conflict,
        }
    }
    let r = &mut st.reservations;
    match sa {
        0x00 | 0x06 => {
            if sa_key == 0 {
                if registered.is_some() {
                    let released = r.unregister(me);
                    r.generation = r.generation.wrapping_add(1);
                    if released {
                        let others: Vec<NexusKey> =
                            r.registrations.iter().map(|x| x.nexus.clone()).collect();
                        notify(&mut st, &others, AscAscq::RESERVATIONS_RELEASED);
                    }
                }
                return Done::good();
            }
            match r.registrations.iter_mut().find(|x| &x.nexus == me) {
                Some(reg) => reg.key = sa_key,
                None => {
                    if r.registrations.len() >= MAX_REGISTRATIONS {
                        return Err(Sense::new(
                            SenseKey::ILLEGAL_REQUEST,
                            AscAscq::INSUFFICIENT_REGISTRATION_RESOURCES,
                        )
                        .into());
                    }
                    r.registrations.push(Registration {
                        nexus: me.clone(),
                        key: sa_key,
                    });
                }
            }
            r.generation = r.generation.wrapping_add(1);
            Done::good()
        }
        0x01 => {
            let Some(kind) = kind else { return conflict };
            match &r.holder {
                None => {
                    r.holder = Some(PrHolder {
                        nexus: me.clone(),
                        kind,
                    });
                    Done::good()
                }
                Some(h) if r.is_holder(me) && h.kind == kind => Done::good(),
                Some(_) => conflict,
            }
        }
        0x02 => {
            let Some(h) = r.holder.clone() else {
                return Done::good();
            };
            if !r.is_holder(me) {
                return Done::good();
            }
            if Some(h.kind) != kind {
                return Err(Sense::new(
                    SenseKey::ILLEGAL_REQUEST,
                    AscAscq::INVALID_RELEASE_OF_PERSISTENT_RESERVATION,
                )
                .into());
            }
            r.holder = None;
            if h.kind.registrants_access() {
                let others: Vec<NexusKey> = r
                    .registrations
                    .iter()
                    .filter(|x| &x.nexus != me)
                    .map(|x| x.nexus.clone())
                    .collect();
                notify(&mut st, &others, AscAscq::RESERVATIONS_RELEASED);
            }
            Done::good()
        }
        0x03 => {
            let others: Vec<NexusKey> = r
                .registrations
                .iter()
                .filter(|x| &x.nexus != me)
                .map(|x| x.nexus.clone())
                .collect();
            r.clear_persistent();
            r.generation = r.generation.wrapping_add(1);
            notify(&mut st, &others, AscAscq::RESERVATIONS_PREEMPTED);
            Done::good()
        }
        _ => {
            // PREEMPT, PREEMPT AND ABORT (aborting the preempted tasks is the transport's).
            let Some(kind) = kind else { return conflict };
            let holder = r.holder.clone();
            let holder_key = holder
                .as_ref()
                .filter(|h| !h.kind.all_registrants())
                .and_then(|h| r.key_of(&h.nexus));
            let all_registrants = holder.as_ref().is_some_and(|h| h.kind.all_registrants());
            let removed: Vec<NexusKey>;
            if holder.is_none() || (!all_registrants && holder_key != Some(sa_key)) {
                // No reservation, or the key is not the holder's: remove registrations.
                if sa_key == 0 {
                    return Err(Sense::invalid_parameter_field(8, None).into());
                }
                removed = r
                    .registrations
                    .iter()
                    .filter(|x| x.key == sa_key && &x.nexus != me)
                    .map(|x| x.nexus.clone())
                    .collect();
                if removed.is_empty() && !r.registrations.iter().any(|x| x.key == sa_key) {
                    return conflict;
                }
            } else {
                // Preempting the reservation: with an all registrants reservation, key 0
                // removes every other registrant.
                removed = r
                    .registrations
                    .iter()
                    .filter(|x| {
                        &x.nexus != me && (x.key == sa_key || (all_registrants && sa_key == 0))
                    })
                    .map(|x| x.nexus.clone())
                    .collect();
                r.holder = Some(PrHolder {
                    nexus: me.clone(),
                    kind,
                });
            }
            r.registrations.retain(|x| !removed.contains(&x.nexus));
            if r.holder
                .as_ref()
                .is_some_and(|h| !h.kind.all_registrants() && removed.contains(&h.nexus))
            {
                r.holder = None;
            }
            r.generation = r.generation.wrapping_add(1);
            notify(&mut st, &removed, AscAscq::REGISTRATIONS_PREEMPTED);
            Done::good()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::*;
    use std::sync::Arc;

    fn run(lu: &LogicalUnit, who: &str, cdb: &[u8], data: &[u8]) -> CommandResponse {
        let nexus = ItNexus::new(who, [0; 6]);
        let req = CommandRequest {
            cdb,
            data_out: data,
            expected_length: data.len().max(255) as u32,
            attribute: TaskAttribute::Simple,
        };
        lu.execute(&nexus, &req)
    }

    fn prout(sa: u8, kind: u8, key: u64, sa_key: u64) -> ([u8; 10], [u8; 24]) {
        let cdb = [0x5f, sa, kind, 0, 0, 0, 0, 0, 24, 0];
        let mut list = [0u8; 24];
        list[..8].copy_from_slice(&key.to_be_bytes());
        list[8..16].copy_from_slice(&sa_key.to_be_bytes());
        (cdb, list)
    }

    #[test]
    fn register_reserve_and_conflict() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("r"));
        for who in ["a", "b"] {
            run(&lu, who, &[0; 6], &[]);
        }
        let (c, l) = prout(0x00, 0, 0, 0xaa);
        assert_eq!(run(&lu, "a", &c, &l).status, Status::GOOD);
        let (c, l) = prout(0x01, 0x03, 0xaa, 0);
        assert_eq!(run(&lu, "a", &c, &l).status, Status::GOOD);
        // b is not registered: exclusive access conflicts even for reads.
        let read = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(
            run(&lu, "b", &read, &[]).status,
            Status::RESERVATION_CONFLICT
        );
        assert_eq!(run(&lu, "a", &read, &[]).status, Status::GOOD);
        // READ RESERVATION shows the key and type.
        let r = run(&lu, "b", &[0x5e, 0x01, 0, 0, 0, 0, 0, 0, 255, 0], &[]);
        assert_eq!(&r.data_in[8..16], &0xaau64.to_be_bytes());
        assert_eq!(r.data_in[21], 0x03);
        // Release with the wrong type is an error; with the right one, b can read.
        let (c, l) = prout(0x02, 0x01, 0xaa, 0);
        assert_eq!(run(&lu, "a", &c, &l).status, Status::CHECK_CONDITION);
        let (c, l) = prout(0x02, 0x03, 0xaa, 0);
        assert_eq!(run(&lu, "a", &c, &l).status, Status::GOOD);
        assert_eq!(run(&lu, "b", &read, &[]).status, Status::GOOD);
    }

    #[test]
    fn preempt_removes_registration_and_bumps_generation() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("r"));
        for who in ["a", "b"] {
            run(&lu, who, &[0; 6], &[]);
        }
        let (c, l) = prout(0x06, 0, 0, 1);
        run(&lu, "a", &c, &l);
        let (c, l) = prout(0x06, 0, 0, 2);
        run(&lu, "b", &c, &l);
        let keys = run(&lu, "a", &[0x5e, 0, 0, 0, 0, 0, 0, 0, 255, 0], &[]);
        assert_eq!(keys.data_in[7], 16);
        let (c, l) = prout(0x04, 0x03, 2, 1);
        assert_eq!(run(&lu, "b", &c, &l).status, Status::GOOD);
        let keys2 = run(&lu, "b", &[0x5e, 0, 0, 0, 0, 0, 0, 0, 255, 0], &[]);
        assert_eq!(keys2.data_in[7], 8);
        assert_eq!(keys2.data_in[3], keys.data_in[3] + 1);
        // a learns that its registration was preempted.
        let r = run(&lu, "a", &[0; 6], &[]);
        assert_eq!(
            Sense::parse(&r.sense.unwrap()).unwrap().code,
            AscAscq::REGISTRATIONS_PREEMPTED
        );
    }

    #[test]
    fn spc2_reserve_conflicts_for_others() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("r"));
        for who in ["a", "b"] {
            run(&lu, who, &[0; 6], &[]);
        }
        assert_eq!(
            run(&lu, "a", &[0x16, 0, 0, 0, 0, 0], &[]).status,
            Status::GOOD
        );
        assert_eq!(
            run(&lu, "b", &[0x16, 0, 0, 0, 0, 0], &[]).status,
            Status::RESERVATION_CONFLICT
        );
        assert_eq!(
            run(&lu, "b", &[0; 6], &[]).status,
            Status::RESERVATION_CONFLICT
        );
        assert_eq!(
            run(&lu, "b", &[0x12, 0, 0, 0, 36, 0], &[]).status,
            Status::GOOD
        );
        assert_eq!(
            run(&lu, "a", &[0x17, 0, 0, 0, 0, 0], &[]).status,
            Status::GOOD
        );
        assert_eq!(run(&lu, "b", &[0; 6], &[]).status, Status::GOOD);
    }
}
