//! The 16-byte IP address fields ("Conventions: IP Address" of the iBFT spec): IPv6 as is,
//! IPv4 mapped as `::ffff:a.b.c.d`, and an absent address as sixteen zero bytes.

use core::net::{IpAddr, Ipv6Addr};

/// Length of every IP address field.
pub(crate) const IP_LEN: usize = 16;

/// Decodes an IP address field. Sixteen zeros and `::ffff:0.0.0.0` both mean "absent" (Linux
/// hides both); an IPv4-mapped address reads as IPv4.
pub(crate) fn decode(raw: [u8; IP_LEN]) -> Option<IpAddr> {
    let v6 = Ipv6Addr::from(raw);
    match v6.to_ipv4_mapped() {
        Some(v4) if v4.is_unspecified() => None,
        Some(v4) => Some(IpAddr::V4(v4)),
        None if v6.is_unspecified() => None,
        None => Some(IpAddr::V6(v6)),
    }
}

/// Encodes an IP address field: `None` as sixteen zeros (what iPXE writes), IPv4 mapped.
pub(crate) fn encode(addr: Option<IpAddr>) -> [u8; IP_LEN] {
    match addr {
        None => [0; IP_LEN],
        Some(IpAddr::V4(v4)) => v4.to_ipv6_mapped().octets(),
        Some(IpAddr::V6(v6)) => v6.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn ipv4_is_stored_mapped() {
        let raw = encode(Some(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 10))));
        assert_eq!(
            raw,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 10]
        );
        assert_eq!(
            decode(raw),
            Some(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 10)))
        );
    }

    #[test]
    fn both_null_spellings_read_as_absent() {
        assert_eq!(decode([0; 16]), None);
        let edk2 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(decode(edk2), None);
        assert_eq!(encode(None), [0; 16]);
    }

    #[test]
    fn ipv6_is_stored_as_is() {
        let v6: Ipv6Addr = "fd00::1".parse().unwrap();
        assert_eq!(encode(Some(IpAddr::V6(v6))), v6.octets());
        assert_eq!(decode(v6.octets()), Some(IpAddr::V6(v6)));
        // An IPv4-mapped IPv6 address reads back as IPv4.
        let mapped = Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped();
        assert_eq!(
            decode(encode(Some(IpAddr::V6(mapped)))),
            Some(IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)))
        );
    }
}
