//! [`ReservationStore`]: where a logical unit saves the persistent reservations that an
//! initiator asked to persist through power loss (APTPL), and [`MemReservationStore`].

use std::sync::Mutex;

/// Durable storage for one logical unit's persistent reservations. With a store attached
/// ([`LogicalUnit::with_reservation_store`](crate::LogicalUnit::with_reservation_store)), the
/// unit offers APTPL (REPORT CAPABILITIES sets PTPL_C): while the last register service
/// action asked for it, every change is saved before the PERSISTENT RESERVE OUT completes.
/// When the unit is opened again, the caller hands the saved image to
/// [`LogicalUnit::restore_reservations`](crate::LogicalUnit::restore_reservations). The bytes
/// are opaque to the store.
///
/// Calls happen under the unit's state lock, so a store must not call back into the unit;
/// they are rare (PERSISTENT RESERVE OUT and TARGET COLD RESET only).
///
/// ```
/// use scsi::{MemReservationStore, ReservationStore};
/// let store = MemReservationStore::default();
/// store.save(b"image")?;
/// assert_eq!(store.image(), Some(b"image".to_vec()));
/// store.remove()?;
/// assert_eq!(store.image(), None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ReservationStore: Send + Sync {
    /// Replaces the saved image, durably, before returning.
    ///
    /// # Errors
    ///
    /// The storage failed: the command that changed the reservations then fails with
    /// HARDWARE ERROR / INTERNAL TARGET FAILURE and changes nothing.
    fn save(&self, image: &[u8]) -> std::io::Result<()>;

    /// Removes the saved image: the last register service action cleared APTPL, so the
    /// reservations end with the power.
    ///
    /// # Errors
    ///
    /// The storage failed, as for [`save`](Self::save).
    fn remove(&self) -> std::io::Result<()>;
}

/// A [`ReservationStore`] in memory, for tests and for embedding code that keeps the image
/// itself.
///
/// ```
/// use scsi::{MemReservationStore, ReservationStore};
/// let store = MemReservationStore::default();
/// assert_eq!(store.image(), None);
/// store.save(&[1, 2, 3])?;
/// assert_eq!(store.image(), Some(vec![1, 2, 3]));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemReservationStore {
    image: Mutex<Option<Vec<u8>>>,
}

impl MemReservationStore {
    /// The image saved last, if any.
    ///
    /// ```
    /// use scsi::{MemReservationStore, ReservationStore};
    /// let store = MemReservationStore::default();
    /// store.save(b"first")?;
    /// store.save(b"second")?;
    /// assert_eq!(store.image().as_deref(), Some(&b"second"[..]));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn image(&self) -> Option<Vec<u8>> {
        self.slot().clone()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Vec<u8>>> {
        self.image.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ReservationStore for MemReservationStore {
    fn save(&self, image: &[u8]) -> std::io::Result<()> {
        *self.slot() = Some(image.to_vec());
        Ok(())
    }

    fn remove(&self) -> std::io::Result<()> {
        *self.slot() = None;
        Ok(())
    }
}
