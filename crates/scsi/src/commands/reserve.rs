//! RESERVE(6)/(10), RELEASE(6)/(10) (SPC-2 §7.21-7.24) and PERSISTENT RESERVE IN/OUT
//! (SPC-4 §6.15, §6.16, §5.9). The access rules live in [`crate::reservation`]; the
//! pipeline has already refused conflicting commands.

use super::{Ctx, Done, Fail, Outcome, PARAMETER_LIST_LENGTH_ERROR};
use crate::cdb::field;
use crate::lu::NexusKey;
use crate::reservation::{MAX_REGISTRATIONS, Port, PrHolder, PrType, Registration, Reservations};
use crate::sense::{AscAscq, Sense, SenseKey};
use crate::status::Status;
use crate::transport_id::TransportId;

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
                // All-registrants types report key 0.
                d.extend_from_slice(&r.holder_key().unwrap_or(0).to_be_bytes());
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
            // RLR_C 0, CRH 0, SIP_C, ATP_C; PTPL_C when a store can keep the reservations.
            d.push(0x08 | 0x04 | u8::from(ctx.lu.store.is_some()));
            d.push(0x80 | u8::from(r.aptpl)); // TMV; ALLOW COMMANDS 0; PTPL_A
            // PERSISTENT RESERVATION TYPE MASK: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX;
            // EX_AC_AR.
            d.push(0x80 | 0x40 | 0x20 | 0x08 | 0x02);
            d.push(0x01);
            d.extend_from_slice(&[0; 2]);
        }
        _ => {
            let mut body = Vec::new();
            for reg in r.registrations.iter().take(MAX_REGISTRATIONS) {
                let holds = r.port_holds(&reg.port);
                body.extend_from_slice(&reg.key.to_be_bytes());
                body.extend_from_slice(&[0; 4]);
                body.push(u8::from(reg.all_tg_pt) << 1 | u8::from(holds)); // ALL_TG_PT, R_HOLDER
                body.push(match (&r.holder, holds) {
                    (Some(h), true) => type_code(h.kind),
                    _ => 0,
                });
                body.extend_from_slice(&[0; 4]);
                body.extend_from_slice(&RELATIVE_TARGET_PORT.to_be_bytes());
                let id = reg.port.transport_id().emit();
                body.extend_from_slice(&(id.len() as u32).to_be_bytes());
                body.extend_from_slice(&id);
            }
            d.extend_from_slice(&(body.len() as u32).to_be_bytes());
            d.extend_from_slice(&body);
        }
    }
    Done::data(d, alloc)
}

/// The RELATIVE TARGET PORT IDENTIFIER of the unit's one target port.
const RELATIVE_TARGET_PORT: u16 = 1;

/// The service actions of PERSISTENT RESERVE OUT (SPC-4 table 214).
const REGISTER: u8 = 0x00;
const RESERVE: u8 = 0x01;
const RELEASE: u8 = 0x02;
const CLEAR: u8 = 0x03;
const PREEMPT: u8 = 0x04;
const PREEMPT_AND_ABORT: u8 = 0x05;
const REGISTER_AND_IGNORE_EXISTING_KEY: u8 = 0x06;
const REGISTER_AND_MOVE: u8 = 0x07;

/// A PERSISTENT RESERVE OUT parameter list, basic (SPC-4 §6.16.3) or REGISTER AND MOVE's
/// (§6.16.4).
struct ParameterList {
    key: u64,
    sa_key: u64,
    spec_i_pt: bool,
    all_tg_pt: bool,
    aptpl: bool,
    /// REGISTER AND MOVE: unregister the sender once the reservation has moved.
    unreg: bool,
    /// REGISTER AND MOVE: the destination's target port.
    relative_port: u16,
    /// The ports of the TransportIDs (SPEC_I_PT, or REGISTER AND MOVE's one destination).
    ports: Vec<Port>,
}

/// Reads the TransportIDs of `b` (which starts at byte `base` of the parameter list).
fn transport_ids(b: &[u8], base: usize) -> Result<Vec<Port>, Fail> {
    let mut ports = Vec::new();
    let mut at = 0;
    while at < b.len() {
        if ports.len() >= MAX_REGISTRATIONS {
            return Err(INSUFFICIENT_REGISTRATION_RESOURCES.into());
        }
        let (id, n) = TransportId::parse(&b[at..]).map_err(|e| {
            let offset = match e {
                crate::Error::InvalidField { offset, .. } => offset,
                _ => 0,
            };
            Sense::invalid_parameter_field(
                u16::try_from(base + at + offset).unwrap_or(u16::MAX),
                None,
            )
        })?;
        ports.push(Port::from_transport_id(id));
        at += n;
    }
    Ok(ports)
}

impl ParameterList {
    /// Parses the list the CDB announces, checking its length and reserved bits.
    fn parse(ctx: &Ctx<'_>, sa: u8) -> Result<Self, Fail> {
        let len = field::u32_at(ctx.cdb, 5) as usize;
        if len < 24 {
            return Err(PARAMETER_LIST_LENGTH_ERROR.into());
        }
        let list = ctx.parameter_list(len)?;
        let mut p = ParameterList {
            key: field::u64_at(list, 0),
            sa_key: field::u64_at(list, 8),
            spec_i_pt: false,
            all_tg_pt: false,
            aptpl: false,
            unreg: false,
            relative_port: 0,
            ports: Vec::new(),
        };
        let reserved_bit = |byte: u16, bits: u8| {
            Err(Sense::invalid_parameter_field(byte, Some(7 - bits.leading_zeros() as u8)).into())
        };
        if sa == REGISTER_AND_MOVE {
            let flags = list[17];
            if flags & !0x03 != 0 {
                return reserved_bit(17, flags & !0x03);
            }
            p.unreg = flags & 0x02 != 0;
            p.aptpl = flags & 0x01 != 0;
            if p.aptpl && ctx.lu.store.is_none() {
                return Err(Sense::invalid_parameter_field(17, Some(0)).into());
            }
            p.relative_port = field::u16_at(list, 18);
            let tid_len = field::u32_at(list, 20) as usize;
            if len.checked_sub(24) != Some(tid_len) {
                return Err(PARAMETER_LIST_LENGTH_ERROR.into());
            }
            p.ports = transport_ids(&list[24..], 24)?;
            if p.ports.len() != 1 {
                return Err(Sense::invalid_parameter_field(20, None).into());
            }
            return Ok(p);
        }
        let flags = list[20];
        if flags & 0xf2 != 0 {
            return reserved_bit(20, flags & 0xf2);
        }
        // SPEC_I_PT, ALL_TG_PT and APTPL count for the register service actions only
        // ("shall be ignored for all other service actions"), and SPEC_I_PT for REGISTER.
        let registering = matches!(sa, REGISTER | REGISTER_AND_IGNORE_EXISTING_KEY);
        p.spec_i_pt = flags & 0x08 != 0;
        if p.spec_i_pt && sa != REGISTER {
            return Err(Sense::invalid_parameter_field(20, Some(3)).into());
        }
        p.all_tg_pt = registering && flags & 0x04 != 0;
        p.aptpl = registering && flags & 0x01 != 0;
        if p.aptpl && ctx.lu.store.is_none() {
            // PTPL_C is 0 without a store.
            return Err(Sense::invalid_parameter_field(20, Some(0)).into());
        }
        if !p.spec_i_pt {
            if len != 24 {
                return Err(PARAMETER_LIST_LENGTH_ERROR.into());
            }
            return Ok(p);
        }
        let tid_len = field::u32_at(list, 24) as usize;
        if len < 28 || len - 28 != tid_len {
            return Err(PARAMETER_LIST_LENGTH_ERROR.into());
        }
        p.ports = transport_ids(&list[28..], 28)?;
        Ok(p)
    }
}

/// ILLEGAL REQUEST / INSUFFICIENT REGISTRATION RESOURCES.
const INSUFFICIENT_REGISTRATION_RESOURCES: Sense = Sense::new(
    SenseKey::ILLEGAL_REQUEST,
    AscAscq::INSUFFICIENT_REGISTRATION_RESOURCES,
);

/// Unit attentions a service action leaves: for the nexuses of each port (never the sender).
type Notices = Vec<(Port, AscAscq)>;

/// `code` for the nexuses of every port in `ports`.
fn notices(ports: Vec<Port>, code: AscAscq) -> Notices {
    ports.into_iter().map(|p| (p, code)).collect()
}

/// PERSISTENT RESERVE OUT: REGISTER (with SPEC_I_PT and ALL_TG_PT), RESERVE, RELEASE,
/// CLEAR, PREEMPT, PREEMPT AND ABORT, REGISTER AND IGNORE EXISTING KEY and REGISTER AND
/// MOVE. The service action runs on a copy of the reservations; with APTPL in effect the
/// copy is saved to the unit's store before it replaces the state, so a failed save changes
/// nothing.
pub(crate) fn persistent_reserve_out(ctx: &Ctx<'_>) -> Outcome {
    let sa = field::u8_at(ctx.cdb, 1) & 0x1f;
    let scope_type = field::u8_at(ctx.cdb, 2);
    let list = ParameterList::parse(ctx, sa)?;
    let needs_type = matches!(
        sa,
        RESERVE | RELEASE | PREEMPT | PREEMPT_AND_ABORT | REGISTER_AND_MOVE
    );
    let kind = PrType::from_u8(scope_type & 0x0f);
    if needs_type {
        if scope_type >> 4 != 0 {
            return Err(Sense::invalid_cdb_field(2, Some(7)).into());
        }
        if kind.is_none() {
            return Err(Sense::invalid_cdb_field(2, Some(3)).into());
        }
    }
    let me = ctx.key;
    let mut st = ctx.lu.lock();
    let mut r = st.reservations.clone();
    // Every service action but REGISTER AND IGNORE EXISTING KEY checks the key.
    let registered = r.registration_of(me).map(|x| (x.port.clone(), x.key));
    if sa != REGISTER_AND_IGNORE_EXISTING_KEY {
        match &registered {
            Some((_, k)) if *k == list.key => {}
            None if sa == REGISTER && list.key == 0 => {}
            _ => return Err(Fail::Status(Status::RESERVATION_CONFLICT)),
        }
    }
    let my_port = registered.map(|(p, _)| p);
    let notices = match sa {
        REGISTER | REGISTER_AND_IGNORE_EXISTING_KEY => register(&mut r, me, my_port, &list)?,
        RESERVE => reserve_pr(&mut r, me, my_port, kind)?,
        RELEASE => release_pr(&mut r, me, kind)?,
        CLEAR => {
            let others = r.other_ports(my_port.as_ref());
            r.clear_persistent();
            r.generation = r.generation.wrapping_add(1);
            notices(others, AscAscq::RESERVATIONS_PREEMPTED)
        }
        REGISTER_AND_MOVE => register_and_move(&mut r, me, my_port, kind, &list)?,
        // PREEMPT, PREEMPT AND ABORT (aborting the preempted tasks is the transport's).
        _ => preempt(&mut r, my_port, kind, list.sa_key)?,
    };
    ctx.lu.save_reservations(&st.reservations, &r)?;
    st.reservations = r;
    for (port, code) in notices {
        for (k, n) in st.nexuses.iter_mut() {
            if k != me && port.matches(k) {
                n.ua.push(code);
            }
        }
    }
    Done::good()
}

/// REGISTER and REGISTER AND IGNORE EXISTING KEY (the key has been checked).
fn register(
    r: &mut Reservations,
    me: &NexusKey,
    mine: Option<Port>,
    list: &ParameterList,
) -> Result<Notices, Fail> {
    let Some(port) = mine else {
        // Not registered: register the sender and, with SPEC_I_PT, the ports named, all
        // with the service action key; key 0 registers nobody.
        if list.sa_key == 0 {
            return Ok(Vec::new());
        }
        let mut new = vec![Port::of(me)];
        for p in &list.ports {
            // As LIO does: a port already registered (or named twice) keeps its registration.
            let taken = r.registrations.iter().any(|x| x.port == *p) || new.contains(p);
            if !taken {
                new.push(p.clone());
            }
        }
        if r.registrations.len() + new.len() > MAX_REGISTRATIONS {
            return Err(INSUFFICIENT_REGISTRATION_RESOURCES.into());
        }
        r.registrations
            .extend(new.into_iter().map(|port| Registration {
                port,
                key: list.sa_key,
                all_tg_pt: list.all_tg_pt,
            }));
        r.aptpl = list.aptpl;
        r.generation = r.generation.wrapping_add(1);
        return Ok(Vec::new());
    };
    if list.spec_i_pt {
        // SPEC_I_PT from a registered nexus (SPC-4 §5.9.7).
        return Err(Sense::invalid_parameter_field(20, Some(3)).into());
    }
    r.generation = r.generation.wrapping_add(1);
    if list.sa_key == 0 {
        // Unregistering: APTPL is the last registering service action's.
        let released = r.unregister(&port);
        return Ok(if released {
            notices(r.other_ports(None), AscAscq::RESERVATIONS_RELEASED)
        } else {
            Vec::new()
        });
    }
    if let Some(reg) = r.registrations.iter_mut().find(|x| x.port == port) {
        reg.key = list.sa_key;
    }
    r.aptpl = list.aptpl;
    Ok(Vec::new())
}

/// RESERVE.
fn reserve_pr(
    r: &mut Reservations,
    me: &NexusKey,
    mine: Option<Port>,
    kind: Option<PrType>,
) -> Result<Notices, Fail> {
    let (Some(kind), Some(port)) = (kind, mine) else {
        return Err(Fail::Status(Status::RESERVATION_CONFLICT));
    };
    match &r.holder {
        None => {
            r.holder = Some(PrHolder { port, kind });
            Ok(Vec::new())
        }
        Some(h) if r.is_holder(me) && h.kind == kind => Ok(Vec::new()),
        Some(_) => Err(Fail::Status(Status::RESERVATION_CONFLICT)),
    }
}

/// RELEASE.
fn release_pr(r: &mut Reservations, me: &NexusKey, kind: Option<PrType>) -> Result<Notices, Fail> {
    let Some(h) = r.holder.clone() else {
        return Ok(Vec::new());
    };
    if !r.is_holder(me) {
        return Ok(Vec::new());
    }
    if Some(h.kind) != kind {
        return Err(Sense::new(
            SenseKey::ILLEGAL_REQUEST,
            AscAscq::INVALID_RELEASE_OF_PERSISTENT_RESERVATION,
        )
        .into());
    }
    r.holder = None;
    Ok(if h.kind.registrants_access() {
        notices(r.other_ports(None), AscAscq::RESERVATIONS_RELEASED)
    } else {
        Vec::new()
    })
}

/// PREEMPT and PREEMPT AND ABORT.
fn preempt(
    r: &mut Reservations,
    mine: Option<Port>,
    kind: Option<PrType>,
    sa_key: u64,
) -> Result<Notices, Fail> {
    let (Some(kind), Some(mine)) = (kind, mine) else {
        return Err(Fail::Status(Status::RESERVATION_CONFLICT));
    };
    let holder = r.holder.clone();
    let holder_key = r.holder_key();
    let all_registrants = holder.as_ref().is_some_and(|h| h.kind.all_registrants());
    let removed: Vec<Port>;
    if holder.is_none() || (!all_registrants && holder_key != Some(sa_key)) {
        // No reservation, or the key is not the holder's: remove registrations.
        if sa_key == 0 {
            return Err(Sense::invalid_parameter_field(8, None).into());
        }
        removed = r
            .registrations
            .iter()
            .filter(|x| x.key == sa_key && x.port != mine)
            .map(|x| x.port.clone())
            .collect();
        if removed.is_empty() && !r.registrations.iter().any(|x| x.key == sa_key) {
            return Err(Fail::Status(Status::RESERVATION_CONFLICT));
        }
    } else {
        // Preempting the reservation: with an all registrants reservation, key 0 removes
        // every other registrant.
        removed = r
            .registrations
            .iter()
            .filter(|x| x.port != mine && (x.key == sa_key || (all_registrants && sa_key == 0)))
            .map(|x| x.port.clone())
            .collect();
        r.holder = Some(PrHolder {
            port: mine.clone(),
            kind,
        });
    }
    r.registrations.retain(|x| !removed.contains(&x.port));
    if r.holder
        .as_ref()
        .is_some_and(|h| !h.kind.all_registrants() && removed.contains(&h.port))
    {
        r.holder = None;
    }
    r.generation = r.generation.wrapping_add(1);
    Ok(notices(removed, AscAscq::REGISTRATIONS_PREEMPTED))
}

/// REGISTER AND MOVE (SPC-4 §5.9.8): the holder registers another I_T nexus with the
/// service action key and moves the reservation to it, with the CDB's type, unregistering
/// itself with UNREG.
fn register_and_move(
    r: &mut Reservations,
    me: &NexusKey,
    mine: Option<Port>,
    kind: Option<PrType>,
    list: &ParameterList,
) -> Result<Notices, Fail> {
    let (Some(mine), Some(kind)) = (mine, kind) else {
        return Err(Fail::Status(Status::RESERVATION_CONFLICT));
    };
    let Some(h) = r.holder.clone() else {
        // No reservation to move.
        return Err(Fail::Status(Status::RESERVATION_CONFLICT));
    };
    if h.kind.all_registrants() || !r.is_holder(me) {
        return Err(Fail::Status(Status::RESERVATION_CONFLICT));
    }
    if list.sa_key == 0 {
        return Err(Sense::invalid_parameter_field(8, None).into());
    }
    if list.relative_port != RELATIVE_TARGET_PORT {
        return Err(Sense::invalid_parameter_field(18, None).into());
    }
    let dest = list.ports[0].clone();
    // The destination must be one I_T nexus (an ISID), and not the sender's.
    if dest.isid.is_none() || dest.matches(me) {
        return Err(Sense::invalid_parameter_field(24, None).into());
    }
    match r.registrations.iter_mut().find(|x| x.port == dest) {
        Some(reg) => reg.key = list.sa_key,
        None => {
            if r.registrations.len() >= MAX_REGISTRATIONS {
                return Err(INSUFFICIENT_REGISTRATION_RESOURCES.into());
            }
            r.registrations.push(Registration {
                port: dest.clone(),
                key: list.sa_key,
                all_tg_pt: false,
            });
        }
    }
    r.holder = Some(PrHolder { port: dest, kind });
    if list.unreg {
        r.registrations.retain(|x| x.port != mine);
    }
    r.aptpl = list.aptpl;
    r.generation = r.generation.wrapping_add(1);
    Ok(Vec::new())
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

    /// A nexus named `who` with ISID …`isid`.
    fn nexus(who: &str, isid: u8) -> ItNexus {
        ItNexus::new(who, [0x80, 0, 0, 0, 0, isid])
    }

    /// Runs `cdb` with `data` from `n`.
    fn run_as(lu: &LogicalUnit, n: &ItNexus, cdb: &[u8], data: &[u8]) -> CommandResponse {
        let req = CommandRequest {
            cdb,
            data_out: data,
            expected_length: data.len().max(1024) as u32,
            attribute: TaskAttribute::Simple,
        };
        lu.execute(n, &req)
    }

    /// A PERSISTENT RESERVE OUT CDB for a list of `len` bytes.
    fn prout_cdb(sa: u8, kind: u8, len: usize) -> [u8; 10] {
        let l = (len as u32).to_be_bytes();
        [0x5f, sa, kind, 0, 0, l[0], l[1], l[2], l[3], 0]
    }

    /// A basic parameter list with byte 20 = `flags`, and TransportIDs after it (SPEC_I_PT).
    fn basic_list(key: u64, sa_key: u64, flags: u8, ids: &[TransportId]) -> Vec<u8> {
        let mut l = vec![0u8; 24];
        l[..8].copy_from_slice(&key.to_be_bytes());
        l[8..16].copy_from_slice(&sa_key.to_be_bytes());
        l[20] = flags;
        if !ids.is_empty() {
            let body: Vec<u8> = ids.iter().flat_map(TransportId::emit).collect();
            l.extend_from_slice(&(body.len() as u32).to_be_bytes());
            l.extend_from_slice(&body);
        }
        l
    }

    /// Sends `list` as service action `sa`.
    fn prout_list(lu: &LogicalUnit, n: &ItNexus, sa: u8, kind: u8, list: &[u8]) -> CommandResponse {
        run_as(lu, n, &prout_cdb(sa, kind, list.len()), list)
    }

    fn sense_of(r: &CommandResponse) -> Sense {
        Sense::parse(r.sense.as_deref().expect("sense data")).unwrap()
    }

    /// A unit with the power on unit attentions of `who` already taken.
    fn unit(store: Option<Arc<dyn ReservationStore>>, who: &[&ItNexus]) -> LogicalUnit {
        let mut lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("r"));
        if let Some(s) = store {
            lu = lu.with_reservation_store(s);
        }
        for n in who {
            run_as(&lu, n, &[0; 6], &[]);
        }
        lu
    }

    /// READ FULL STATUS descriptors: (key, ALL_TG_PT, R_HOLDER, TransportID).
    fn full_status(lu: &LogicalUnit, n: &ItNexus) -> Vec<(u64, bool, bool, TransportId)> {
        let r = run_as(lu, n, &[0x5e, 0x03, 0, 0, 0, 0, 0, 0x10, 0, 0], &[]);
        let d = &r.data_in[8..];
        let mut out = Vec::new();
        let mut at = 0;
        while at < d.len() {
            let key = u64::from_be_bytes(d[at..at + 8].try_into().unwrap());
            let flags = d[at + 12];
            let len = u32::from_be_bytes(d[at + 20..at + 24].try_into().unwrap()) as usize;
            let (id, n) = TransportId::parse(&d[at + 24..at + 24 + len]).unwrap();
            assert_eq!(n, len);
            out.push((key, flags & 2 != 0, flags & 1 != 0, id));
            at += 24 + len;
        }
        out
    }

    #[test]
    fn report_capabilities_tells_what_is_offered() {
        let a = nexus("iqn.a", 1);
        let caps = |lu: &LogicalUnit| {
            let r = run_as(lu, &a, &[0x5e, 0x02, 0, 0, 0, 0, 0, 0, 8, 0], &[]);
            (r.data_in[2], r.data_in[3])
        };
        let plain = unit(None, &[&a]);
        assert_eq!(
            caps(&plain),
            (0x0c, 0x80),
            "SIP_C, ATP_C; no PTPL_C without a store"
        );
        let store = Arc::new(MemReservationStore::default());
        let kept = unit(Some(store), &[&a]);
        assert_eq!(caps(&kept), (0x0d, 0x80));
        prout_list(&kept, &a, 0x00, 0, &basic_list(0, 1, 0x01, &[]));
        assert_eq!(caps(&kept).1, 0x81, "PTPL_A once APTPL is in effect");
        // APTPL without a store is refused.
        let r = prout_list(&plain, &a, 0x00, 0, &basic_list(0, 1, 0x01, &[]));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(20, Some(0)));
    }

    #[test]
    fn aptpl_saves_every_change_and_restores_after_a_restart() {
        let (a, b) = (nexus("iqn.a", 1), nexus("iqn.b", 2));
        let store = Arc::new(MemReservationStore::default());
        let lu = unit(Some(store.clone()), &[&a, &b]);
        // Without APTPL nothing is saved.
        prout_list(&lu, &b, 0x00, 0, &basic_list(0, 0xa, 0, &[]));
        assert_eq!(store.image(), None);
        // APTPL with ALL_TG_PT: saved at once, and again when b registers and a reserves.
        assert_eq!(
            prout_list(&lu, &a, 0x00, 0, &basic_list(0, 0xa1, 0x05, &[])).status,
            Status::GOOD
        );
        let first = store.image().expect("saved");
        prout_list(&lu, &b, 0x06, 0, &basic_list(0, 0xb, 0x01, &[]));
        assert_eq!(
            prout_list(&lu, &a, 0x01, 0x05, &basic_list(0xa1, 0, 0, &[])).status,
            Status::GOOD
        );
        let image = store.image().unwrap();
        assert_ne!(first, image);
        // A new unit over the same device gets it all back, generation included.
        let again = unit(None, &[&a, &b]);
        again.restore_reservations(&image).unwrap();
        assert_eq!(full_status(&again, &a), full_status(&lu, &a));
        let generation = |lu: &LogicalUnit| {
            run_as(lu, &a, &[0x5e, 0, 0, 0, 0, 0, 0, 0, 255, 0], &[]).data_in[..4].to_vec()
        };
        assert_eq!(generation(&again), generation(&lu));
        let status = full_status(&again, &a);
        assert_eq!(
            status[1],
            (
                0xa1,
                true,
                true,
                TransportId {
                    name: "iqn.a".into(),
                    isid: Some([0x80, 0, 0, 0, 0, 1])
                }
            )
        );
        // A cold reset is a power on: with APTPL the reservations stay.
        let mut target = ScsiTarget::new();
        target.add_lun(0, again).unwrap();
        target.task_management(None, &a, TmfFunction::TargetColdReset);
        let again = target.lun(0).unwrap();
        run_as(again, &a, &[0; 6], &[]);
        assert_eq!(full_status(again, &a).len(), 2);
        // b clears APTPL: the saved image goes, and a cold reset then drops everything.
        prout_list(&lu, &b, 0x00, 0, &basic_list(0xb, 0xb2, 0, &[]));
        assert_eq!(store.image(), None);
        let mut target = ScsiTarget::new();
        let restored = unit(None, &[&a, &b]);
        restored.restore_reservations(&image).unwrap();
        prout_list(&restored, &b, 0x00, 0, &basic_list(0xb, 0xb2, 0, &[]));
        target.add_lun(0, restored).unwrap();
        target.task_management(None, &a, TmfFunction::TargetColdReset);
        let lu0 = target.lun(0).unwrap();
        run_as(lu0, &a, &[0; 6], &[]);
        assert!(full_status(lu0, &a).is_empty());
    }

    /// A store whose disk is gone.
    struct Broken;
    impl ReservationStore for Broken {
        fn save(&self, _: &[u8]) -> std::io::Result<()> {
            Err(std::io::Error::other("disk gone"))
        }
        fn remove(&self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk gone"))
        }
    }

    #[test]
    fn a_failed_save_fails_the_command_and_changes_nothing() {
        let a = nexus("iqn.a", 1);
        let lu = unit(Some(Arc::new(Broken)), &[&a]);
        let r = prout_list(&lu, &a, 0x00, 0, &basic_list(0, 0xa, 0x01, &[]));
        assert_eq!(sense_of(&r).key, SenseKey::HARDWARE_ERROR);
        assert!(full_status(&lu, &a).is_empty());
        // Without APTPL the store is not asked.
        let r = prout_list(&lu, &a, 0x00, 0, &basic_list(0, 0xa, 0, &[]));
        assert_eq!(r.status, Status::GOOD);
        assert_eq!(full_status(&lu, &a).len(), 1);
    }

    #[test]
    fn restore_refuses_a_damaged_image() {
        let lu = unit(None, &[]);
        assert!(lu.restore_reservations(b"SCSIPR01").is_err());
        assert!(lu.restore_reservations(b"junk").is_err());
    }

    #[test]
    fn spec_i_pt_registers_the_named_ports() {
        let (a, b1, b2, c) = (
            nexus("iqn.a", 1),
            nexus("iqn.b", 1),
            nexus("iqn.b", 2),
            nexus("iqn.c", 7),
        );
        let lu = unit(None, &[&a, &b1, &b2, &c]);
        let ids = [
            TransportId {
                name: "iqn.b".into(),
                isid: None,
            },
            TransportId {
                name: "iqn.c".into(),
                isid: Some([0x80, 0, 0, 0, 0, 7]),
            },
            TransportId {
                name: "iqn.a".into(),
                isid: Some([0x80, 0, 0, 0, 0, 1]),
            }, // the sender
        ];
        let list = basic_list(0, 0x77, 0x08, &ids);
        assert_eq!(prout_list(&lu, &a, 0x00, 0, &list).status, Status::GOOD);
        let status = full_status(&lu, &a);
        assert_eq!(status.len(), 3, "{status:?}");
        assert!(status.iter().all(|s| s.0 == 0x77));
        // Every nexus of iqn.b acts under the name-only registration: b2 reserves with the key.
        assert_eq!(
            prout_list(&lu, &b2, 0x01, 0x03, &basic_list(0x77, 0, 0, &[])).status,
            Status::GOOD
        );
        let read = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(run_as(&lu, &b1, &read, &[]).status, Status::GOOD);
        assert_eq!(
            run_as(&lu, &c, &read, &[]).status,
            Status::RESERVATION_CONFLICT
        );
        // SPEC_I_PT from a registered nexus, or with another service action, is refused.
        let r = prout_list(&lu, &a, 0x00, 0, &basic_list(0x77, 0x78, 0x08, &ids[..1]));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(20, Some(3)));
        let r = prout_list(&lu, &a, 0x06, 0, &basic_list(0, 0x78, 0x08, &ids[..1]));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(20, Some(3)));
    }

    #[test]
    fn spec_i_pt_lists_are_checked() {
        let a = nexus("iqn.a", 1);
        let lu = unit(None, &[&a]);
        let id = TransportId {
            name: "iqn.b".into(),
            isid: None,
        };
        let good = basic_list(0, 1, 0x08, &[id]);
        // The TRANSPORTID PARAMETER DATA LENGTH must match the list length.
        let mut long = good.clone();
        long.extend_from_slice(&[0; 4]);
        let r = prout_list(&lu, &a, 0x00, 0, &long);
        assert_eq!(sense_of(&r).code, AscAscq::PARAMETER_LIST_LENGTH_ERROR);
        // A TransportID of another protocol points at its first byte.
        let mut sas = good.clone();
        sas[28] = 0x06;
        let r = prout_list(&lu, &a, 0x00, 0, &sas);
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(28, None));
        // A basic list longer than 24 bytes without SPEC_I_PT is a length error.
        let r = prout_list(&lu, &a, 0x00, 0, &good[..28]);
        assert_eq!(sense_of(&r).code, AscAscq::PARAMETER_LIST_LENGTH_ERROR);
        // Reserved bits of byte 20.
        let r = prout_list(&lu, &a, 0x00, 0, &basic_list(0, 1, 0x02, &[]));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(20, Some(1)));
        assert!(full_status(&lu, &a).is_empty());
    }

    /// A REGISTER AND MOVE parameter list.
    fn move_list(key: u64, sa_key: u64, flags: u8, port: u16, id: &TransportId) -> Vec<u8> {
        let mut l = vec![0u8; 24];
        l[..8].copy_from_slice(&key.to_be_bytes());
        l[8..16].copy_from_slice(&sa_key.to_be_bytes());
        l[17] = flags;
        l[18..20].copy_from_slice(&port.to_be_bytes());
        let id = id.emit();
        l[20..24].copy_from_slice(&(id.len() as u32).to_be_bytes());
        l.extend_from_slice(&id);
        l
    }

    #[test]
    fn register_and_move_hands_the_reservation_over() {
        let (a, b) = (nexus("iqn.a", 1), nexus("iqn.b", 2));
        let lu = unit(None, &[&a, &b]);
        let to_b = TransportId {
            name: "iqn.b".into(),
            isid: Some([0x80, 0, 0, 0, 0, 2]),
        };
        // Not the holder (there is no reservation): conflict.
        prout_list(&lu, &a, 0x00, 0, &basic_list(0, 0xa, 0, &[]));
        let r = prout_list(&lu, &a, 0x07, 0x01, &move_list(0xa, 0xb, 0, 1, &to_b));
        assert_eq!(r.status, Status::RESERVATION_CONFLICT);
        prout_list(&lu, &a, 0x01, 0x01, &basic_list(0xa, 0, 0, &[]));
        // Wrong target port, the sender itself, a name without ISID, key 0: refused.
        let r = prout_list(&lu, &a, 0x07, 0x01, &move_list(0xa, 0xb, 0, 2, &to_b));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(18, None));
        let to_a = TransportId {
            name: "iqn.a".into(),
            isid: Some([0x80, 0, 0, 0, 0, 1]),
        };
        let r = prout_list(&lu, &a, 0x07, 0x01, &move_list(0xa, 0xb, 0, 1, &to_a));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(24, None));
        let any_b = TransportId {
            name: "iqn.b".into(),
            isid: None,
        };
        let r = prout_list(&lu, &a, 0x07, 0x01, &move_list(0xa, 0xb, 0, 1, &any_b));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(24, None));
        let r = prout_list(&lu, &a, 0x07, 0x01, &move_list(0xa, 0, 0, 1, &to_b));
        assert_eq!(sense_of(&r), Sense::invalid_parameter_field(8, None));
        // Moved, with UNREG: b holds it (Exclusive Access now), a is gone.
        let r = prout_list(&lu, &a, 0x07, 0x03, &move_list(0xa, 0xb, 0x02, 1, &to_b));
        assert_eq!(r.status, Status::GOOD);
        let status = full_status(&lu, &a);
        assert_eq!(status, vec![(0xb, false, true, to_b)]);
        let read = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(
            run_as(&lu, &a, &read, &[]).status,
            Status::RESERVATION_CONFLICT
        );
        assert_eq!(run_as(&lu, &b, &read, &[]).status, Status::GOOD);
    }
}
