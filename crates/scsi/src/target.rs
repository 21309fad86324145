//! [`ScsiTarget`]: the logical units behind one SCSI target port, and the request and
//! response types the transport exchanges with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;
use crate::lu::LogicalUnit;
use crate::sense::{AscAscq, Sense, SenseFormat, SenseKey};
use crate::status::Status;

/// An I_T nexus: one initiator port (initiator name + ISID) talking to this target. Unit
/// attentions, SPC-2 reservations and persistent reservation registrations are kept per
/// nexus.
///
/// ```
/// use scsi::ItNexus;
/// let a = ItNexus::new("iqn.2010-04.org.ipxe:client", [0x80, 0, 0, 0, 0, 1]);
/// assert_eq!(&*a.initiator_name, "iqn.2010-04.org.ipxe:client");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItNexus {
    /// The initiator's iSCSI name (or other transport name).
    pub initiator_name: Arc<str>,
    /// The session's ISID: together with the name, the initiator port.
    pub isid: [u8; 6],
}

impl ItNexus {
    /// A nexus for `initiator_name` and `isid`.
    ///
    /// ```
    /// use scsi::ItNexus;
    /// let name = String::from("iqn.2010-04.org.ipxe:client");
    /// let nexus = ItNexus::new(name, [0x80, 0, 0, 0, 0, 2]);
    /// assert_eq!(nexus.isid, [0x80, 0, 0, 0, 0, 2]);
    /// // Another ISID is another initiator port.
    /// assert_ne!(nexus, ItNexus::new("iqn.2010-04.org.ipxe:client", [0x80, 0, 0, 0, 0, 1]));
    /// ```
    pub fn new(initiator_name: impl Into<Arc<str>>, isid: [u8; 6]) -> Self {
        ItNexus {
            initiator_name: initiator_name.into(),
            isid,
        }
    }
}

/// The task attribute of a command (SAM-5 §8.6). Tasks run to completion in arrival order
/// here, so the attribute is informational; ACA is refused (NACA is not supported).
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
/// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
/// let tur = |attribute| CommandRequest { cdb: &[0; 6], data_out: &[], expected_length: 0,
///                                        attribute };
/// lu.execute(&nexus, &tur(TaskAttribute::default())); // the power on unit attention
/// assert_eq!(lu.execute(&nexus, &tur(TaskAttribute::Ordered)).status, Status::GOOD);
/// assert_eq!(lu.execute(&nexus, &tur(TaskAttribute::Aca)).status, Status::CHECK_CONDITION);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskAttribute {
    /// SIMPLE.
    #[default]
    Simple,
    /// ORDERED.
    Ordered,
    /// HEAD OF QUEUE.
    HeadOfQueue,
    /// ACA.
    Aca,
}

/// One SCSI command as the transport received it.
///
/// ```
/// use scsi::{CommandRequest, TaskAttribute};
/// let tur = CommandRequest { cdb: &[0; 6], data_out: &[], expected_length: 0,
///                            attribute: TaskAttribute::Simple };
/// assert_eq!(tur.cdb.len(), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandRequest<'a> {
    /// The CDB (6 to 16 bytes; trailing bytes beyond the command's length are ignored).
    pub cdb: &'a [u8],
    /// The data the initiator sent. It may be shorter or longer than the CDB asks for: the
    /// transport's expected data transfer length decides what arrived, and a command uses
    /// what it needs of it: a write stores the bytes that arrived (a trailing partial block
    /// is merged into the block on the medium) and nothing beyond its transfer length.
    /// Commands whose parameter list must be complete (UNMAP, MODE SELECT, PERSISTENT
    /// RESERVE OUT, COMPARE AND WRITE, WRITE SAME) fail when it is cut short.
    pub data_out: &'a [u8],
    /// The transport's expected data transfer length (iSCSI EDTL), either direction.
    pub expected_length: u32,
    /// The task attribute.
    pub attribute: TaskAttribute,
}

/// The outcome of a command.
///
/// ```
/// use scsi::{CommandResponse, Status};
/// let r = CommandResponse::good();
/// assert_eq!(r.status, Status::GOOD);
/// assert!(r.sense.is_none() && r.data_in.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResponse {
    /// The status byte.
    pub status: Status,
    /// Sense data (fixed or descriptor format per the Control mode page's D_SENSE bit), with
    /// CHECK CONDITION.
    pub sense: Option<Bytes>,
    /// The data the command produced (the transport truncates it to the expected length).
    pub data_in: Bytes,
    /// The bytes the CDB called for, in either direction (blocks × block size for READ and
    /// WRITE, the produced data length bounded by the allocation length otherwise): the
    /// transport computes residuals from it and the expected length.
    pub transfer_length: u32,
}

impl CommandResponse {
    /// GOOD status, no data.
    ///
    /// ```
    /// use scsi::{CommandResponse, Status};
    /// let r = CommandResponse::good();
    /// assert_eq!((r.status, r.transfer_length), (Status::GOOD, 0));
    /// ```
    pub fn good() -> Self {
        CommandResponse {
            status: Status::GOOD,
            sense: None,
            data_in: Bytes::new(),
            transfer_length: 0,
        }
    }

    /// CHECK CONDITION with `sense` in `format`; `transfer_length` as the CDB asked.
    ///
    /// ```
    /// use scsi::{CommandResponse, Sense, SenseFormat, Status};
    /// let sense = Sense::invalid_cdb_field(1, None);
    /// let r = CommandResponse::check_condition(&sense, SenseFormat::Fixed, 512);
    /// assert_eq!((r.status, r.transfer_length), (Status::CHECK_CONDITION, 512));
    /// assert_eq!(Sense::parse(r.sense.as_deref().unwrap_or_default())?, sense);
    /// # Ok::<(), scsi::Error>(())
    /// ```
    pub fn check_condition(sense: &Sense, format: SenseFormat, transfer_length: u32) -> Self {
        let mut buf = BytesMut::with_capacity(sense.buffer_len(format));
        buf.put_bytes(0, sense.buffer_len(format));
        sense.emit(format, &mut buf);
        CommandResponse {
            status: Status::CHECK_CONDITION,
            sense: Some(buf.freeze()),
            data_in: Bytes::new(),
            transfer_length,
        }
    }

    /// A status without sense data (RESERVATION CONFLICT, BUSY, TASK SET FULL).
    ///
    /// ```
    /// use scsi::{CommandResponse, Status};
    /// let r = CommandResponse::status(Status::RESERVATION_CONFLICT, 4096);
    /// assert_eq!((r.status, r.transfer_length), (Status::RESERVATION_CONFLICT, 4096));
    /// assert!(r.sense.is_none() && r.data_in.is_empty());
    /// ```
    pub fn status(status: Status, transfer_length: u32) -> Self {
        CommandResponse {
            status,
            sense: None,
            data_in: Bytes::new(),
            transfer_length,
        }
    }
}

/// A task management function (SAM-5 §7; RFC 7143 §11.5.1).
///
/// ```
/// use scsi::{ItNexus, ScsiTarget, TmfFunction, TmfOutcome};
/// let target = ScsiTarget::new();
/// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
/// // A target reset needs no LUN; a logical unit reset needs an existing one.
/// assert_eq!(target.task_management(None, &nexus, TmfFunction::TargetWarmReset),
///            TmfOutcome::Complete);
/// assert_eq!(target.task_management(Some(0), &nexus, TmfFunction::LogicalUnitReset),
///            TmfOutcome::LunNotFound);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TmfFunction {
    /// ABORT TASK (the transport aborts the task; nothing runs here).
    AbortTask,
    /// ABORT TASK SET.
    AbortTaskSet,
    /// CLEAR ACA.
    ClearAca,
    /// CLEAR TASK SET.
    ClearTaskSet,
    /// LOGICAL UNIT RESET: releases SPC-2 reservations and PREVENT, resets mode pages, and
    /// raises a unit attention for every nexus.
    LogicalUnitReset,
    /// TARGET WARM RESET: a LOGICAL UNIT RESET of every LU.
    TargetWarmReset,
    /// TARGET COLD RESET: a warm reset that also drops persistent reservations.
    TargetColdReset,
    /// TASK REASSIGN (connection recovery; not supported).
    TaskReassign,
}

/// The result of a task management function.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let mut target = ScsiTarget::new();
/// let dev = Arc::new(MemDevice::new(512, 8));
/// target.add_lun(0, LogicalUnit::new(dev, LuIdentity::from_name("d")))?;
/// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
/// let tmf = |lun, f| target.task_management(lun, &nexus, f);
/// assert_eq!(tmf(Some(0), TmfFunction::ClearTaskSet), TmfOutcome::Complete);
/// assert_eq!(tmf(Some(1), TmfFunction::ClearTaskSet), TmfOutcome::LunNotFound);
/// assert_eq!(tmf(Some(0), TmfFunction::TaskReassign), TmfOutcome::NotSupported);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TmfOutcome {
    /// Function complete.
    Complete,
    /// The LUN does not exist.
    LunNotFound,
    /// The function is not supported.
    NotSupported,
}

/// Highest LUN plus one that [`ScsiTarget`] addresses (single level, flat space).
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let lu = || LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
/// let mut target = ScsiTarget::new();
/// target.add_lun(MAX_LUNS - 1, lu())?;
/// assert_eq!(target.add_lun(MAX_LUNS, lu()), Err(Error::LunOutOfRange { lun: MAX_LUNS }));
/// # Ok::<(), Error>(())
/// ```
pub const MAX_LUNS: u64 = 16384;

/// The 8-byte SAM LUN field for `lun`: peripheral device addressing below 256, flat space
/// addressing below 16384.
///
/// ```
/// assert_eq!(scsi::lun_to_bytes(1), [0, 1, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(scsi::lun_to_bytes(300), [0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(scsi::lun_from_bytes(scsi::lun_to_bytes(300)), Some(300));
/// ```
pub fn lun_to_bytes(lun: u64) -> [u8; 8] {
    let mut b = [0u8; 8];
    if lun < 256 {
        b[1] = lun as u8;
    } else {
        let v = (lun & 0x3fff) as u16 | 0x4000;
        b[..2].copy_from_slice(&v.to_be_bytes());
    }
    b
}

/// The LUN number of an 8-byte SAM LUN field in peripheral or flat space addressing with
/// the other levels zero, else `None`.
///
/// ```
/// assert_eq!(scsi::lun_from_bytes([0, 7, 0, 0, 0, 0, 0, 0]), Some(7)); // peripheral device
/// assert_eq!(scsi::lun_from_bytes([0x41, 0x2c, 0, 0, 0, 0, 0, 0]), Some(300)); // flat space
/// assert_eq!(scsi::lun_from_bytes([0, 1, 0, 2, 0, 0, 0, 0]), None); // a second level
/// ```
pub fn lun_from_bytes(b: [u8; 8]) -> Option<u64> {
    if b[2..].iter().any(|&x| x != 0) {
        return None;
    }
    match b[0] >> 6 {
        0 if b[0] == 0 => Some(u64::from(b[1])),
        1 => Some(u64::from(u16::from_be_bytes([b[0] & 0x3f, b[1]]))),
        _ => None,
    }
}

/// A SCSI target: LUN numbers mapped to [`LogicalUnit`]s. It answers REPORT LUNS itself and
/// answers commands to missing LUNs (INQUIRY with peripheral qualifier 3, others with
/// LOGICAL UNIT NOT SUPPORTED).
///
/// Every method takes `&self` except [`add_lun`](Self::add_lun): share it behind an `Arc`
/// across connections. Commands run synchronously to completion on the caller's thread.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let mut target = ScsiTarget::new();
/// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 64)), LuIdentity::from_name("disk0"));
/// target.add_lun(0, lu)?;
/// let nexus = ItNexus::new("iqn.example:host", [0x80, 0, 0, 0, 0, 1]);
/// let cdb = [0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]; // REPORT LUNS, 4096 bytes
/// let r = target.execute(0, &nexus, &CommandRequest { cdb: &cdb, data_out: &[],
///     expected_length: 4096, attribute: TaskAttribute::Simple });
/// assert_eq!(r.status, Status::GOOD);
/// assert_eq!(&r.data_in[..], &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/// # Ok::<(), scsi::Error>(())
/// ```
#[derive(Default)]
pub struct ScsiTarget {
    luns: BTreeMap<u64, LogicalUnit>,
}

impl core::fmt::Debug for ScsiTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScsiTarget")
            .field("luns", &self.luns.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ScsiTarget {
    /// A target without logical units.
    ///
    /// ```
    /// use scsi::ScsiTarget;
    /// let target = ScsiTarget::new();
    /// assert_eq!(target.luns().count(), 0);
    /// assert!(target.lun(0).is_none());
    /// ```
    pub fn new() -> Self {
        ScsiTarget::default()
    }

    /// Adds `lu` as LUN `lun`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let lu = || LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
    /// let mut target = ScsiTarget::new();
    /// target.add_lun(1, lu())?;
    /// assert_eq!(target.add_lun(1, lu()), Err(Error::LunInUse { lun: 1 }));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LunInUse`], [`Error::LunOutOfRange`] (`lun` ≥ [`MAX_LUNS`]).
    pub fn add_lun(&mut self, lun: u64, lu: LogicalUnit) -> Result<(), Error> {
        if lun >= MAX_LUNS {
            return Err(Error::LunOutOfRange { lun });
        }
        if self.luns.contains_key(&lun) {
            return Err(Error::LunInUse { lun });
        }
        self.luns.insert(lun, lu);
        Ok(())
    }

    /// The logical unit `lun`, if any.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let mut target = ScsiTarget::new();
    /// let dev = Arc::new(MemDevice::new(512, 8));
    /// target.add_lun(0, LogicalUnit::new(dev, LuIdentity::from_name("d")))?;
    /// assert_eq!(target.lun(0).map(|lu| lu.identity().vendor.as_str()), Some("DISKLESS"));
    /// assert!(target.lun(1).is_none());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn lun(&self, lun: u64) -> Option<&LogicalUnit> {
        self.luns.get(&lun)
    }

    /// The LUN numbers, ascending.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let mut target = ScsiTarget::new();
    /// for lun in [300, 0, 3] {
    ///     let dev = Arc::new(MemDevice::new(512, 8));
    ///     target.add_lun(lun, LogicalUnit::new(dev, LuIdentity::from_name("d")))?;
    /// }
    /// assert_eq!(target.luns().collect::<Vec<_>>(), [0, 3, 300]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn luns(&self) -> impl Iterator<Item = u64> + '_ {
        self.luns.keys().copied()
    }

    /// Runs one command addressed to `lun` from `nexus`.
    ///
    /// ```
    /// use scsi::*;
    /// // A command to a LUN that does not exist fails with LOGICAL UNIT NOT SUPPORTED.
    /// let target = ScsiTarget::new();
    /// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
    /// let r = target.execute(2, &nexus, &CommandRequest { cdb: &[0; 6], data_out: &[],
    ///     expected_length: 0, attribute: TaskAttribute::Simple });
    /// assert_eq!(r.status, Status::CHECK_CONDITION);
    /// let sense = Sense::parse(r.sense.as_deref().unwrap_or_default())?;
    /// assert_eq!(sense.code, AscAscq::LOGICAL_UNIT_NOT_SUPPORTED);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn execute(
        &self,
        lun: u64,
        nexus: &ItNexus,
        request: &CommandRequest<'_>,
    ) -> CommandResponse {
        let opcode = request.cdb.first().copied();
        if opcode == Some(ReportLunsCdbOpcode::VALUE) {
            let lu = self.luns.get(&lun);
            return match lu {
                Some(lu) => lu.execute_with(nexus, request, Some(self)),
                None => self.report_luns(request),
            };
        }
        match self.luns.get(&lun) {
            Some(lu) => lu.execute_with(nexus, request, Some(self)),
            None => crate::lu::missing_lun(request),
        }
    }

    /// REPORT LUNS for a missing LUN (no unit attentions, fixed format sense).
    fn report_luns(&self, request: &CommandRequest<'_>) -> CommandResponse {
        match self.report_luns_data(request.cdb) {
            Ok((data, len)) => CommandResponse {
                status: Status::GOOD,
                sense: None,
                data_in: data,
                transfer_length: len,
            },
            Err(sense) => CommandResponse::check_condition(&sense, SenseFormat::Fixed, 0),
        }
    }

    /// The REPORT LUNS parameter data for `cdb`, truncated to the allocation length, and that
    /// length.
    pub(crate) fn report_luns_data(&self, cdb: &[u8]) -> Result<(Bytes, u32), Sense> {
        let c = crate::cdb::ReportLunsCdb::parse(cdb).map_err(|e| e.to_sense())?;
        if c.select_report > 2 && !(0x10..=0x12).contains(&c.select_report) {
            return Err(Sense::invalid_cdb_field(2, None));
        }
        if c.allocation_length < 16 {
            return Err(Sense::invalid_cdb_field(6, None));
        }
        let luns: Vec<u64> = if c.select_report == 1 || c.select_report == 0x11 {
            Vec::new()
        } else {
            self.luns.keys().copied().collect()
        };
        let list_len = luns.len() * 8;
        let mut buf = BytesMut::with_capacity((8 + list_len).min(c.allocation_length as usize));
        buf.put_u32(list_len as u32);
        buf.put_u32(0);
        for lun in luns {
            if buf.len() >= c.allocation_length as usize {
                break;
            }
            buf.put_slice(&lun_to_bytes(lun));
        }
        buf.truncate(c.allocation_length as usize);
        let len = buf.len() as u32;
        Ok((buf.freeze(), len))
    }

    /// Runs a task management function. `lun` is the addressed LUN for LU-scoped functions.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let mut target = ScsiTarget::new();
    /// let dev = Arc::new(MemDevice::new(512, 8));
    /// target.add_lun(0, LogicalUnit::new(dev, LuIdentity::from_name("d")))?;
    /// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
    /// let tur = CommandRequest { cdb: &[0; 6], data_out: &[], expected_length: 0,
    ///                            attribute: TaskAttribute::Simple };
    /// target.execute(0, &nexus, &tur); // the power on unit attention
    /// let outcome = target.task_management(Some(0), &nexus, TmfFunction::LogicalUnitReset);
    /// assert_eq!(outcome, TmfOutcome::Complete);
    /// let r = target.execute(0, &nexus, &tur);
    /// let sense = Sense::parse(r.sense.as_deref().unwrap_or_default())?;
    /// assert_eq!(sense.code, AscAscq::BUS_DEVICE_RESET);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn task_management(
        &self,
        lun: Option<u64>,
        nexus: &ItNexus,
        function: TmfFunction,
    ) -> TmfOutcome {
        match function {
            TmfFunction::TargetWarmReset | TmfFunction::TargetColdReset => {
                let cold = function == TmfFunction::TargetColdReset;
                for lu in self.luns.values() {
                    lu.reset(AscAscq::POWER_ON_RESET, cold);
                }
                TmfOutcome::Complete
            }
            TmfFunction::TaskReassign => TmfOutcome::NotSupported,
            _ => {
                let Some(lu) = lun.and_then(|l| self.luns.get(&l)) else {
                    return TmfOutcome::LunNotFound;
                };
                match function {
                    TmfFunction::LogicalUnitReset => {
                        lu.reset(AscAscq::BUS_DEVICE_RESET, false);
                    }
                    TmfFunction::ClearTaskSet | TmfFunction::AbortTaskSet => {
                        lu.tasks_cleared(nexus, function == TmfFunction::ClearTaskSet);
                    }
                    _ => {}
                }
                TmfOutcome::Complete
            }
        }
    }

    /// The session of `nexus` ended: its SPC-2 reservations and PREVENT MEDIUM REMOVAL are
    /// released, its unit attentions forgotten; persistent reservation registrations persist.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let mut target = ScsiTarget::new();
    /// let dev = Arc::new(MemDevice::new(512, 8));
    /// target.add_lun(0, LogicalUnit::new(dev, LuIdentity::from_name("d")))?;
    /// let (a, b) = (ItNexus::new("iqn.example:a", [0; 6]), ItNexus::new("iqn.example:b", [0; 6]));
    /// let run = |n: &ItNexus, cdb: &[u8]| {
    ///     let request = CommandRequest { cdb, data_out: &[], expected_length: 512,
    ///                                    attribute: TaskAttribute::Simple };
    ///     target.execute(0, n, &request).status
    /// };
    /// let read = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    /// run(&a, &read); run(&b, &read); // the power on unit attentions
    /// assert_eq!(run(&a, &[0x16, 0, 0, 0, 0, 0]), Status::GOOD); // RESERVE(6)
    /// assert_eq!(run(&b, &read), Status::RESERVATION_CONFLICT);
    /// target.nexus_lost(&a);
    /// assert_eq!(run(&b, &read), Status::GOOD);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn nexus_lost(&self, nexus: &ItNexus) {
        for lu in self.luns.values() {
            lu.nexus_lost(nexus);
        }
    }
}

/// The REPORT LUNS opcode, named for the dispatcher above.
struct ReportLunsCdbOpcode;

impl ReportLunsCdbOpcode {
    const VALUE: u8 = crate::cdb::ReportLunsCdb::OPCODE;
}

/// Sense data for a command to a LUN that does not exist.
pub(crate) const LUN_NOT_SUPPORTED: Sense = Sense::new(
    SenseKey::ILLEGAL_REQUEST,
    AscAscq::LOGICAL_UNIT_NOT_SUPPORTED,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LuIdentity, MemDevice};

    fn target() -> ScsiTarget {
        let mut t = ScsiTarget::new();
        for lun in [0, 3, 300] {
            let dev = Arc::new(MemDevice::new(512, 8));
            t.add_lun(lun, LogicalUnit::new(dev, LuIdentity::from_name("t")))
                .unwrap();
        }
        t
    }

    fn req(cdb: &[u8]) -> CommandRequest<'_> {
        CommandRequest {
            cdb,
            data_out: &[],
            expected_length: 4096,
            attribute: TaskAttribute::Simple,
        }
    }

    #[test]
    fn add_lun_rejects_duplicates_and_out_of_range() {
        let mut t = target();
        let lu = || LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("x"));
        assert_eq!(t.add_lun(3, lu()), Err(Error::LunInUse { lun: 3 }));
        assert_eq!(
            t.add_lun(MAX_LUNS, lu()),
            Err(Error::LunOutOfRange { lun: MAX_LUNS })
        );
        assert_eq!(t.luns().collect::<Vec<_>>(), [0, 3, 300]);
    }

    #[test]
    fn report_luns_from_a_missing_lun_lists_all() {
        let t = target();
        let n = ItNexus::new("i", [0; 6]);
        let r = t.execute(9, &n, &req(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]));
        assert_eq!(&r.data_in[..4], &[0, 0, 0, 24]);
        assert_eq!(&r.data_in[24..26], &[0x41, 0x2c]);
        // Allocation length below 16 is an invalid field.
        let r = t.execute(9, &n, &req(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]));
        assert_eq!(r.status, Status::CHECK_CONDITION);
    }

    #[test]
    fn lun_reset_and_warm_reset_raise_unit_attentions() {
        let t = target();
        let n = ItNexus::new("i", [0; 6]);
        t.execute(0, &n, &req(&[0; 6]));
        assert_eq!(
            t.task_management(Some(0), &n, TmfFunction::LogicalUnitReset),
            TmfOutcome::Complete
        );
        let r = t.execute(0, &n, &req(&[0; 6]));
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.code, AscAscq::BUS_DEVICE_RESET);
        assert_eq!(
            t.task_management(Some(7), &n, TmfFunction::LogicalUnitReset),
            TmfOutcome::LunNotFound
        );
        assert_eq!(
            t.task_management(None, &n, TmfFunction::TaskReassign),
            TmfOutcome::NotSupported
        );
        t.task_management(None, &n, TmfFunction::TargetWarmReset);
        let r = t.execute(0, &n, &req(&[0; 6]));
        assert_eq!(
            Sense::parse(&r.sense.unwrap()).unwrap().code,
            AscAscq::POWER_ON_RESET
        );
    }

    #[test]
    fn lun_bytes_round_trip() {
        for lun in [0, 1, 255, 256, 16383] {
            assert_eq!(lun_from_bytes(lun_to_bytes(lun)), Some(lun));
        }
        assert_eq!(lun_from_bytes([0x80, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(lun_from_bytes([0, 1, 0, 1, 0, 0, 0, 0]), None);
    }
}
