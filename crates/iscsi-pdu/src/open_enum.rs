//! `open_enum!`: small code sets that keep unknown values (smoltcp's `enum_with_unknown!`).

/// Declares an enum over an integer type whose `Unknown(v)` variant keeps any value not listed,
/// so that parsing never loses information and emitting restores the exact value.
macro_rules! open_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vattr])* $variant, )+
            /// A value this crate does not name; kept as received.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( v if v == $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

/// Declares a `Copy` newtype over an integer with named constants (rustls's `enum_builder!`):
/// for registries too large to match on exhaustively. `Debug` prints the name when known.
macro_rules! const_newtype {
    (
        $(#[$attr:meta])*
        pub struct $name:ident(pub $ty:ty) {
            $( $(#[$cattr:meta])* $konst:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub $ty);

        impl $name {
            $( $(#[$cattr])* pub const $konst: Self = Self($value); )+

            /// The constant's name, if this value has one.
            ///
            /// ```
            /// use iscsi_pdu::{LoginStatus, ScsiStatus};
            /// assert_eq!(ScsiStatus::BUSY.name(), Some("BUSY"));
            /// assert_eq!(LoginStatus(0x0203).name(), Some("NOT_FOUND"));
            /// assert_eq!(ScsiStatus(0x7f).name(), None);
            /// ```
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$konst => Some(stringify!($konst)), )+
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }
    };
}

pub(crate) use {const_newtype, open_enum};
