//! `const_newtype!`: registries as `Copy` newtypes with named constants (rustls's
//! `enum_builder!`); `Debug` prints the name when known.

/// Declares a `Copy` newtype over an integer with named constants.
macro_rules! const_newtype {
    (
        $(#[$attr:meta])*
        pub struct $name:ident(pub $ty:ty) {
            $( $(#[$cattr:meta])* $konst:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $ty);

        impl $name {
            $( $(#[$cattr])* pub const $konst: Self = Self($value); )+

            /// The constant's name, if this value has one.
            ///
            /// ```
            /// use scsi::Status;
            /// assert_eq!(Status::RESERVATION_CONFLICT.name(), Some("RESERVATION_CONFLICT"));
            /// assert_eq!(Status(0x22).name(), None); // obsolete COMMAND TERMINATED: no constant
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

pub(crate) use const_newtype;
