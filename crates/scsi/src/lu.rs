//! [`LogicalUnit`]: one block device with its identity and SCSI state (unit attentions,
//! reservations, mode pages), and the command pipeline every CDB goes through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use crate::commands::{Ctx, Fail};
use crate::device::{BlockDevice, UnmapSupport};
use crate::error::Error;
use crate::mode_page::ModeState;
use crate::opcode::{self, Needs};
use crate::reservation::Reservations;
use crate::reservation_store::ReservationStore;
use crate::sense::{AscAscq, Sense, SenseFormat, SenseKey};
use crate::status::Status;
use crate::target::{CommandRequest, CommandResponse, ItNexus, ScsiTarget, TaskAttribute};
use crate::unit_attention::UnitAttentions;

/// Largest READ or WRITE the logical unit accepts, in bytes (the Block Limits VPD page
/// reports it in blocks): it bounds every buffer a command allocates.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let lu = LogicalUnit::new(Arc::new(MemDevice::new(4096, 8)), LuIdentity::from_name("d"));
/// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
/// // INQUIRY, Block Limits VPD page: MAXIMUM TRANSFER LENGTH, in blocks.
/// let r = lu.execute(&nexus, &CommandRequest { cdb: &[0x12, 0x01, 0xb0, 0, 64, 0],
///     data_out: &[], expected_length: 64, attribute: TaskAttribute::Simple });
/// assert_eq!(r.data_in[8..12], (MAX_TRANSFER_BYTES / 4096).to_be_bytes());
/// ```
pub const MAX_TRANSFER_BYTES: u32 = 8 << 20;

/// What a logical unit reports about itself: INQUIRY strings, the unit serial number and the
/// NAA designator of the Device Identification VPD page.
///
/// The NAA designator must be unique per logical unit and stable across restarts: initiators
/// (Windows MPIO and failover clustering, Linux multipath) identify disks by it.
/// [`LuIdentity::from_name`] derives one from a name that is unique in the deployment.
///
/// ```
/// use scsi::LuIdentity;
/// let a = LuIdentity::from_name("iqn.2026-01.example:client1/lun0");
/// let b = LuIdentity::from_name("iqn.2026-01.example:client2/lun0");
/// assert_ne!(a.naa, b.naa);
/// assert_eq!(a.naa, LuIdentity::from_name("iqn.2026-01.example:client1/lun0").naa);
/// assert_eq!(a.naa[0] >> 4, 6); // NAA IEEE Registered Extended
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LuIdentity {
    /// T10 vendor identification (up to 8 ASCII characters; padded with spaces).
    pub vendor: String,
    /// Product identification (up to 16 ASCII characters).
    pub product: String,
    /// Product revision level (up to 4 ASCII characters).
    pub revision: String,
    /// Unit serial number (VPD page 80h; up to 252 ASCII characters).
    pub serial: String,
    /// The 16-byte NAA IEEE Registered Extended designator (VPD page 83h).
    pub naa: [u8; 16],
    /// Serve the unit read-only (writes answer DATA PROTECT / WRITE PROTECTED) even if the
    /// device could write.
    pub read_only: bool,
}

/// The IEEE company ID this crate uses in derived NAA designators when the caller has none
/// (an OUI-format value from the locally administered range).
///
/// ```
/// use scsi::{DEFAULT_COMPANY_ID, LuIdentity};
/// let naa = LuIdentity::from_name("disk0").naa;
/// assert_eq!(naa, LuIdentity::derive_naa(DEFAULT_COMPANY_ID, "disk0"));
/// // The IEEE COMPANY_ID follows the NAA nibble.
/// let head = u32::from_be_bytes([naa[0], naa[1], naa[2], naa[3]]);
/// assert_eq!(head >> 4 & 0xff_ffff, DEFAULT_COMPANY_ID);
/// ```
pub const DEFAULT_COMPANY_ID: u32 = 0x02_00_00;

impl LuIdentity {
    /// An identity for a logical unit named `name` (any string unique in the deployment,
    /// e.g. target name + LUN): vendor `DISKLESS`, product `VIRTUAL DISK`, a serial number
    /// and NAA designator derived from the name with [`DEFAULT_COMPANY_ID`].
    ///
    /// ```
    /// use scsi::LuIdentity;
    /// let id = LuIdentity::from_name("iqn.2026-01.example:t/0");
    /// assert_eq!((id.vendor.as_str(), id.product.as_str()), ("DISKLESS", "VIRTUAL DISK"));
    /// assert_eq!(id.serial.len(), 16); // the designator's last 8 bytes in hex
    /// assert!(!id.read_only);
    /// ```
    pub fn from_name(name: &str) -> Self {
        let naa = Self::derive_naa(DEFAULT_COMPANY_ID, name);
        let serial: String = naa[8..].iter().map(|b| format!("{b:02X}")).collect();
        LuIdentity {
            vendor: "DISKLESS".into(),
            product: "VIRTUAL DISK".into(),
            revision: "0001".into(),
            serial,
            naa,
            read_only: false,
        }
    }

    /// A stable NAA type 6 (IEEE Registered Extended) designator: `company_id` (24 bits) and
    /// 100 bits of a hash of `name` (two 64-bit FNV-1a hashes). The same inputs give the
    /// same designator on every platform and version.
    ///
    /// ```
    /// use scsi::LuIdentity;
    /// let naa = LuIdentity::derive_naa(0x00_14_a4, "disk0");
    /// assert_eq!(naa[..3], [0x60, 0x01, 0x4a]); // NAA 6, then the company ID's first 20 bits
    /// assert_eq!(naa[3] >> 4, 0x4);
    /// assert_eq!(naa, LuIdentity::derive_naa(0x00_14_a4, "disk0"));
    /// assert_ne!(naa, LuIdentity::derive_naa(0x00_14_a4, "disk1"));
    /// ```
    pub fn derive_naa(company_id: u32, name: &str) -> [u8; 16] {
        let fnv = |basis: u64| {
            name.bytes().fold(basis, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            })
        };
        let h1 = fnv(0xcbf2_9ce4_8422_2325);
        let h2 = fnv(0x6c62_272e_07bb_0142);
        let mut v = [0u8; 16];
        // NAA (4 bits) | IEEE company id (24 bits) | vendor specific id (36 bits)
        let head: u64 =
            (6u64 << 60) | (u64::from(company_id & 0xff_ffff) << 36) | (h1 & 0x0f_ffff_ffff);
        v[..8].copy_from_slice(&head.to_be_bytes());
        v[8..].copy_from_slice(&(h2 ^ (h1 >> 36)).to_be_bytes());
        v
    }
}

/// The initiator port of an I_T nexus, as a map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NexusKey {
    pub(crate) name: Arc<str>,
    pub(crate) isid: [u8; 6],
}

impl NexusKey {
    pub(crate) fn of(nexus: &ItNexus) -> Self {
        NexusKey {
            name: nexus.initiator_name.clone(),
            isid: nexus.isid,
        }
    }
}

/// Per-nexus state.
#[derive(Debug, Default)]
pub(crate) struct NexusState {
    pub(crate) ua: UnitAttentions,
    /// PREVENT ALLOW MEDIUM REMOVAL: prevention is in effect.
    pub(crate) prevent: bool,
    /// EXTENDED COPY statuses held for RECEIVE COPY RESULTS.
    pub(crate) copies: crate::commands::copy::HeldCopies,
}

/// The mutable state of a logical unit, behind one short lock.
#[derive(Debug)]
pub(crate) struct LuState {
    pub(crate) nexuses: HashMap<NexusKey, NexusState>,
    pub(crate) reservations: Reservations,
    pub(crate) mode: ModeState,
    /// The block count last reported, to notice capacity changes.
    pub(crate) capacity: u64,
}

impl LuState {
    /// Queues `code` for every nexus except `except`.
    pub(crate) fn unit_attention_all(&mut self, code: AscAscq, except: Option<&NexusKey>) {
        for (k, n) in self.nexuses.iter_mut() {
            if Some(k) != except {
                n.ua.push(code);
            }
        }
    }

    /// The state of `key`, created on first sight with a unit attention of 29h/00h POWER ON,
    /// RESET, OR BUS DEVICE RESET OCCURRED: the generic code, which also covers an initiator
    /// that logs in again after a cold reset or a lost connection dropped its state (initiators
    /// such as libiscsi retry on 29h/00h, where 29h/01h POWER ON OCCURRED would be an error).
    pub(crate) fn nexus(&mut self, key: &NexusKey) -> &mut NexusState {
        self.nexuses.entry(key.clone()).or_insert_with(|| {
            let mut n = NexusState::default();
            n.ua.push(AscAscq::POWER_ON_RESET);
            n
        })
    }
}

/// A logical unit: a [`BlockDevice`] plus its identity and SCSI state.
///
/// Commands run through [`ScsiTarget::execute`] (or [`LogicalUnit::execute`] for a unit on
/// its own). State lives behind a short mutex that is never held across device IO, so reads
/// run concurrently.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
/// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
/// let tur = CommandRequest { cdb: &[0; 6], data_out: &[], expected_length: 0,
///                            attribute: TaskAttribute::Simple };
/// // The first command of a new nexus reports the power on unit attention.
/// assert_eq!(lu.execute(&nexus, &tur).status, Status::CHECK_CONDITION);
/// assert_eq!(lu.execute(&nexus, &tur).status, Status::GOOD);
/// ```
pub struct LogicalUnit {
    pub(crate) device: Arc<dyn BlockDevice>,
    pub(crate) identity: LuIdentity,
    pub(crate) block_size: u32,
    pub(crate) unmap: UnmapSupport,
    pub(crate) state: Mutex<LuState>,
    /// Orders IO: ordinary reads and writes share it, COMPARE AND WRITE, ORWRITE and WRITE
    /// ATOMIC hold it alone, so they are atomic with respect to every other command.
    pub(crate) io: RwLock<()>,
    /// Where persistent reservations are saved under APTPL.
    pub(crate) store: Option<Arc<dyn ReservationStore>>,
}

impl core::fmt::Debug for LogicalUnit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogicalUnit")
            .field("identity", &self.identity)
            .field("block_size", &self.block_size)
            .field("unmap", &self.unmap)
            .finish_non_exhaustive()
    }
}

impl LogicalUnit {
    /// A logical unit serving `device` as `identity`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
    /// assert_eq!(lu.device().block_count(), 8);
    /// assert!(!lu.read_only());
    /// ```
    pub fn new(device: Arc<dyn BlockDevice>, identity: LuIdentity) -> Self {
        let block_size = device.block_size().max(1);
        let unmap = device.unmap_support();
        let capacity = device.block_count();
        LogicalUnit {
            device,
            identity,
            block_size,
            unmap,
            state: Mutex::new(LuState {
                nexuses: HashMap::new(),
                reservations: Reservations::default(),
                mode: ModeState::default(),
                capacity,
            }),
            io: RwLock::new(()),
            store: None,
        }
    }

    /// Attaches a [`ReservationStore`]: the unit then offers APTPL (persist through power
    /// loss), and saves its persistent reservations there whenever they change while the
    /// last register service action asked for it (before that command completes).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let store = Arc::new(MemReservationStore::default());
    /// let dev = Arc::new(MemDevice::new(512, 8));
    /// let lu = LogicalUnit::new(dev.clone(), LuIdentity::from_name("d"))
    ///     .with_reservation_store(store.clone());
    /// let nexus = ItNexus::new("iqn.example:i", [0x80, 0, 0, 0, 0, 1]);
    /// let run = |lu: &LogicalUnit, cdb: &[u8], data_out: &[u8]| {
    ///     lu.execute(&nexus, &CommandRequest { cdb, data_out, expected_length: 255,
    ///                                          attribute: TaskAttribute::Simple })
    /// };
    /// run(&lu, &[0; 6], &[]); // the power on unit attention
    /// // REGISTER key 0xab with APTPL, then RESERVE (Write Exclusive).
    /// let mut list = [0u8; 24];
    /// list[8..16].copy_from_slice(&0xabu64.to_be_bytes());
    /// list[20] = 0x01;
    /// assert_eq!(run(&lu, &[0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0], &list).status, Status::GOOD);
    /// let mut list = [0u8; 24];
    /// list[..8].copy_from_slice(&0xabu64.to_be_bytes());
    /// assert_eq!(run(&lu, &[0x5f, 0x01, 0x01, 0, 0, 0, 0, 0, 24, 0], &list).status, Status::GOOD);
    ///
    /// // After a restart, the saved image brings the reservation back.
    /// let again = LogicalUnit::new(dev, LuIdentity::from_name("d"));
    /// again.restore_reservations(&store.image().ok_or("no saved reservations")?)?;
    /// let other = ItNexus::new("iqn.example:other", [0x80, 0, 0, 0, 0, 2]);
    /// let write = [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    /// let req = CommandRequest { cdb: &write, data_out: &[0; 512], expected_length: 512,
    ///                            attribute: TaskAttribute::Simple };
    /// again.execute(&other, &req); // the power on unit attention
    /// assert_eq!(again.execute(&other, &req).status, Status::RESERVATION_CONFLICT);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_reservation_store(mut self, store: Arc<dyn ReservationStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Restores persistent reservations from an image a [`ReservationStore`] saved: call it
    /// when opening the unit, before it serves commands. Replaces any registrations and
    /// reservation the unit holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
    /// assert!(matches!(lu.restore_reservations(b"not a reservation image"),
    ///                  Err(Error::InvalidField { offset: 0, .. })));
    /// assert!(matches!(lu.restore_reservations(&[]), Err(Error::Truncated { .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] or [`Error::InvalidField`] when the image is damaged; the unit
    /// is left unchanged.
    pub fn restore_reservations(&self, image: &[u8]) -> Result<(), Error> {
        let restored = crate::reservation_image::decode(image)?;
        let mut st = self.lock();
        let spc2 = st.reservations.spc2.take();
        st.reservations = crate::reservation::Reservations { spc2, ..restored };
        Ok(())
    }

    /// Saves `after` to the store when it must persist (APTPL), or removes the saved image
    /// when APTPL was just cleared. A failed save is HARDWARE ERROR / INTERNAL TARGET
    /// FAILURE, and the caller keeps `before`.
    pub(crate) fn save_reservations(
        &self,
        before: &crate::reservation::Reservations,
        after: &crate::reservation::Reservations,
    ) -> Result<(), Fail> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let result = if after.aptpl {
            if before == after {
                return Ok(()); // saved already
            }
            store.save(&crate::reservation_image::encode(after))
        } else if before.aptpl {
            store.remove()
        } else {
            return Ok(());
        };
        result.map_err(|_| {
            Fail::Check(Sense::new(
                SenseKey::HARDWARE_ERROR,
                AscAscq::INTERNAL_TARGET_FAILURE,
            ))
        })
    }

    /// Like [`new`](Self::new), checking the identity's strings (ASCII, within their field
    /// lengths) and the device's block size (a power of two from 512 to 64 KiB).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let dev = Arc::new(MemDevice::new(512, 8));
    /// assert!(LogicalUnit::checked(dev.clone(), LuIdentity::from_name("d")).is_ok());
    /// let mut id = LuIdentity::from_name("d");
    /// id.vendor = "MORE THAN EIGHT".into();
    /// assert!(matches!(LogicalUnit::checked(dev, id), Err(Error::InvalidIdentity { .. })));
    /// let odd = Arc::new(MemDevice::new(520, 8));
    /// assert!(LogicalUnit::checked(odd, LuIdentity::from_name("d")).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIdentity`].
    pub fn checked(device: Arc<dyn BlockDevice>, identity: LuIdentity) -> Result<Self, Error> {
        let ascii =
            |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| (0x20..0x7f).contains(&b));
        if !ascii(&identity.vendor, 8) {
            return Err(Error::InvalidIdentity {
                what: "vendor is not up to 8 ASCII characters",
            });
        }
        if !ascii(&identity.product, 16) {
            return Err(Error::InvalidIdentity {
                what: "product is not up to 16 ASCII characters",
            });
        }
        if !ascii(&identity.revision, 4) {
            return Err(Error::InvalidIdentity {
                what: "revision is not up to 4 ASCII characters",
            });
        }
        if !ascii(&identity.serial, 252) || identity.serial.is_empty() {
            return Err(Error::InvalidIdentity {
                what: "serial is not 1 to 252 ASCII characters",
            });
        }
        let bs = device.block_size();
        if !bs.is_power_of_two() || !(512..=65536).contains(&bs) {
            return Err(Error::InvalidIdentity {
                what: "block size is not a power of two from 512 to 65536",
            });
        }
        Ok(Self::new(device, identity))
    }

    /// The identity.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
    /// assert_eq!(lu.identity(), &LuIdentity::from_name("d"));
    /// ```
    pub fn identity(&self) -> &LuIdentity {
        &self.identity
    }

    /// The device.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let lu = LogicalUnit::new(Arc::new(MemDevice::new(4096, 8)), LuIdentity::from_name("d"));
    /// assert_eq!((lu.device().block_size(), lu.device().block_count()), (4096, 8));
    /// ```
    pub fn device(&self) -> &Arc<dyn BlockDevice> {
        &self.device
    }

    /// Whether writes are refused (the identity or the device says so).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let unit = |dev: MemDevice, id: LuIdentity| LogicalUnit::new(Arc::new(dev), id);
    /// let mut id = LuIdentity::from_name("d");
    /// assert!(!unit(MemDevice::new(512, 8), id.clone()).read_only());
    /// assert!(unit(MemDevice::new(512, 8).with_read_only(true), id.clone()).read_only());
    /// id.read_only = true;
    /// assert!(unit(MemDevice::new(512, 8), id).read_only());
    /// ```
    pub fn read_only(&self) -> bool {
        self.identity.read_only || self.device.read_only()
    }

    /// Runs one command from `nexus` against this unit alone (REPORT LUNS reports LUN 0).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scsi::*;
    /// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
    /// let nexus = ItNexus::new("iqn.example:i", [0; 6]);
    /// let cdb = [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0]; // REPORT LUNS, 16 bytes
    /// let r = lu.execute(&nexus, &CommandRequest { cdb: &cdb, data_out: &[], expected_length: 16,
    ///                                              attribute: TaskAttribute::Simple });
    /// assert_eq!(r.status, Status::GOOD); // REPORT LUNS does not report the unit attention
    /// assert_eq!(r.data_in[..], [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    /// ```
    pub fn execute(&self, nexus: &ItNexus, request: &CommandRequest<'_>) -> CommandResponse {
        self.execute_with(nexus, request, None)
    }

    /// The IO lock, shared.
    pub(crate) fn io_shared(&self) -> RwLockReadGuard<'_, ()> {
        self.io.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The IO lock, exclusive.
    pub(crate) fn io_exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.io.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The state lock (a poisoned lock is recovered: the state stays consistent between
    /// statements).
    pub(crate) fn lock(&self) -> MutexGuard<'_, LuState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sense format the Control mode page selects.
    pub(crate) fn sense_format(&self) -> SenseFormat {
        if self.lock().mode.d_sense {
            SenseFormat::Descriptor
        } else {
            SenseFormat::Fixed
        }
    }

    /// The pipeline: look up the command, check its CDB against its usage data, report a
    /// pending unit attention, check reservations, then run the handler.
    pub(crate) fn execute_with(
        &self,
        nexus: &ItNexus,
        request: &CommandRequest<'_>,
        target: Option<&ScsiTarget>,
    ) -> CommandResponse {
        let key = NexusKey::of(nexus);
        let cdb = request.cdb;
        let wanted = crate::commands::cdb_transfer_length(cdb, self.block_size);
        let (format, spec) = {
            let mut st = self.lock();
            let format = if st.mode.d_sense {
                SenseFormat::Descriptor
            } else {
                SenseFormat::Fixed
            };
            let capacity = self.device.block_count();
            if capacity != st.capacity {
                st.capacity = capacity;
                st.unit_attention_all(AscAscq::CAPACITY_DATA_HAS_CHANGED, None);
            }
            let spec = match opcode::lookup(cdb) {
                Ok(spec) => spec,
                Err(sense) => {
                    // An unsupported command still reports a pending unit attention first.
                    let n = st.nexus(&key);
                    let sense = match n.ua.pop() {
                        Some(code) => Sense::new(SenseKey::UNIT_ATTENTION, code),
                        None => sense,
                    };
                    return CommandResponse::check_condition(&sense, format, wanted);
                }
            };
            let opcode = spec.opcode;
            let ua_exempt = matches!(opcode, 0x12 | 0x03 | 0xa0);
            if !ua_exempt {
                if let Some(code) = st.nexus(&key).ua.pop() {
                    return CommandResponse::check_condition(
                        &Sense::new(SenseKey::UNIT_ATTENTION, code),
                        format,
                        wanted,
                    );
                }
            } else {
                st.nexus(&key);
            }
            if st.reservations.conflicts(&key, spec.access, opcode) {
                return CommandResponse::status(Status::RESERVATION_CONFLICT, wanted);
            }
            (format, spec)
        };
        let Some(cdb) = cdb.get(..spec.usage.len()) else {
            return CommandResponse::check_condition(
                &Sense::new(
                    SenseKey::ILLEGAL_REQUEST,
                    AscAscq::INVALID_COMMAND_OPERATION_CODE,
                ),
                format,
                wanted,
            );
        };
        if let Err(sense) = opcode::check_usage(cdb, spec.usage) {
            return CommandResponse::check_condition(&sense, format, wanted);
        }
        if request.attribute == TaskAttribute::Aca {
            return CommandResponse::check_condition(
                &Sense::invalid_cdb_field(cdb.len() as u16 - 1, Some(2)),
                format,
                wanted,
            );
        }
        if spec.needs == Needs::Unmap && !self.unmap.supported() {
            return CommandResponse::check_condition(
                &Sense::new(
                    SenseKey::ILLEGAL_REQUEST,
                    AscAscq::INVALID_COMMAND_OPERATION_CODE,
                ),
                format,
                wanted,
            );
        }
        let ctx = Ctx {
            lu: self,
            nexus,
            key: &key,
            request,
            cdb,
            target,
        };
        match (spec.handler)(&ctx) {
            Ok(done) => CommandResponse {
                status: done.status,
                sense: None,
                transfer_length: done.transfer_length,
                data_in: done.data,
            },
            Err(Fail::Check(sense)) => {
                CommandResponse::check_condition(&sense, self.sense_format(), wanted)
            }
            Err(Fail::Status(status)) => CommandResponse::status(status, wanted),
        }
    }

    /// The CDB usage data of `spec` for this unit, as REPORT SUPPORTED OPERATION CODES
    /// reports it: bits for capabilities the device lacks (the UNMAP bit of WRITE SAME
    /// without thin provisioning) are cleared. The pipeline checks the table's usage data
    /// and the handler refuses such a bit itself, after the write protection check, so a
    /// read-only unit answers DATA PROTECT first.
    pub(crate) fn usage_of(&self, spec: &opcode::CommandSpec) -> [u8; 16] {
        let mut u = [0u8; 16];
        let n = spec.usage.len().min(16);
        u[..n].copy_from_slice(&spec.usage[..n]);
        u[0] = spec.opcode;
        if matches!(spec.opcode, 0x41 | 0x93) && !self.unmap.supported() {
            u[1] &= !0x08;
        }
        u
    }

    /// A LOGICAL UNIT RESET (or target reset): SPC-2 reservations and PREVENT released, mode
    /// pages back to their defaults, `code` queued for every nexus; a cold reset (a power
    /// on, RFC 7143 §11.5.1) also drops persistent reservations, unless APTPL keeps them.
    pub(crate) fn reset(&self, code: AscAscq, cold: bool) {
        let mut st = self.lock();
        st.reservations.spc2 = None;
        if cold && !st.reservations.aptpl {
            st.reservations.clear_persistent();
        }
        st.mode = ModeState::default();
        for n in st.nexuses.values_mut() {
            n.prevent = false;
            n.ua.clear();
            n.ua.push(code);
        }
    }

    /// CLEAR TASK SET / ABORT TASK SET from `nexus`: with the task set shared, other nexuses
    /// learn that their commands were cleared (CLEAR TASK SET only).
    pub(crate) fn tasks_cleared(&self, nexus: &ItNexus, clear: bool) {
        if clear {
            let key = NexusKey::of(nexus);
            self.lock()
                .unit_attention_all(AscAscq::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR, Some(&key));
        }
    }

    /// The session of `nexus` ended.
    pub(crate) fn nexus_lost(&self, nexus: &ItNexus) {
        let key = NexusKey::of(nexus);
        let mut st = self.lock();
        if st.reservations.spc2.as_ref() == Some(&key) {
            st.reservations.spc2 = None;
        }
        st.nexuses.remove(&key);
    }
}

/// The response to a command for a LUN that does not exist (SPC-4 §4.7: INQUIRY answers
/// with peripheral qualifier 3, REQUEST SENSE returns the sense data, others fail).
pub(crate) fn missing_lun(request: &CommandRequest<'_>) -> CommandResponse {
    let cdb = request.cdb;
    let sense = crate::target::LUN_NOT_SUPPORTED;
    match cdb.first() {
        Some(0x12) => match crate::cdb::InquiryCdb::parse(cdb) {
            Ok(c) if !c.evpd && c.page_code == 0 => {
                let mut data = [0u8; 36];
                data[0] = 0x7f; // qualifier 3, device type 1Fh
                data[2] = 0x06;
                data[3] = 0x12;
                data[4] = 31;
                let n = usize::from(c.allocation_length).min(data.len());
                CommandResponse {
                    status: Status::GOOD,
                    sense: None,
                    data_in: Bytes::copy_from_slice(&data[..n]),
                    transfer_length: n as u32,
                }
            }
            _ => CommandResponse::check_condition(&sense, SenseFormat::Fixed, 0),
        },
        Some(0x03) => {
            let desc = cdb.get(1).is_some_and(|b| b & 1 != 0);
            let format = if desc {
                SenseFormat::Descriptor
            } else {
                SenseFormat::Fixed
            };
            let alloc = usize::from(cdb.get(4).copied().unwrap_or(0));
            let mut data = sense.to_bytes(format);
            data.truncate(alloc);
            let n = data.len() as u32;
            CommandResponse {
                status: Status::GOOD,
                sense: None,
                data_in: Bytes::from(data),
                transfer_length: n,
            }
        }
        _ => CommandResponse::check_condition(&sense, SenseFormat::Fixed, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemDevice;

    fn req(cdb: &[u8], attribute: TaskAttribute) -> CommandRequest<'_> {
        CommandRequest {
            cdb,
            data_out: &[],
            expected_length: 255,
            attribute,
        }
    }

    fn lu() -> LogicalUnit {
        LogicalUnit::new(
            Arc::new(MemDevice::new(512, 8)),
            LuIdentity::from_name("lu"),
        )
    }

    #[test]
    fn inquiry_does_not_consume_the_unit_attention() {
        let lu = lu();
        let n = ItNexus::new("i", [0; 6]);
        let r = lu.execute(&n, &req(&[0x12, 0, 0, 0, 36, 0], TaskAttribute::Simple));
        assert_eq!(r.status, Status::GOOD);
        let r = lu.execute(&n, &req(&[0; 6], TaskAttribute::Simple));
        assert_eq!(r.status, Status::CHECK_CONDITION);
        // An unsupported opcode reports the unit attention first, then its own error.
        let n2 = ItNexus::new("j", [0; 6]);
        let r = lu.execute(&n2, &req(&[0xc1; 16], TaskAttribute::Simple));
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.key, SenseKey::UNIT_ATTENTION);
        let r = lu.execute(&n2, &req(&[0xc1; 16], TaskAttribute::Simple));
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.code, AscAscq::INVALID_COMMAND_OPERATION_CODE);
    }

    #[test]
    fn aca_attribute_and_naca_bit_are_refused() {
        let lu = lu();
        let n = ItNexus::new("i", [0; 6]);
        lu.execute(&n, &req(&[0; 6], TaskAttribute::Simple));
        let r = lu.execute(&n, &req(&[0; 6], TaskAttribute::Aca));
        assert_eq!(r.status, Status::CHECK_CONDITION);
        let r = lu.execute(&n, &req(&[0, 0, 0, 0, 0, 0x04], TaskAttribute::Simple));
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s, Sense::invalid_cdb_field(5, Some(2)));
    }

    #[test]
    fn checked_rejects_bad_identity() {
        let dev = Arc::new(MemDevice::new(512, 8));
        let mut id = LuIdentity::from_name("x");
        id.vendor = "TOO LONG VENDOR".into();
        assert!(matches!(
            LogicalUnit::checked(dev.clone(), id),
            Err(Error::InvalidIdentity { .. })
        ));
        let odd = Arc::new(MemDevice::new(520, 8));
        assert!(LogicalUnit::checked(odd, LuIdentity::from_name("x")).is_err());
        assert!(LogicalUnit::checked(dev, LuIdentity::from_name("x")).is_ok());
    }

    #[test]
    fn naa_is_stable_and_distinct() {
        let a = LuIdentity::derive_naa(DEFAULT_COMPANY_ID, "a");
        assert_eq!(a, LuIdentity::derive_naa(DEFAULT_COMPANY_ID, "a"));
        assert_ne!(a, LuIdentity::derive_naa(DEFAULT_COMPANY_ID, "b"));
        assert_eq!(a[0] >> 4, 6);
    }
}
