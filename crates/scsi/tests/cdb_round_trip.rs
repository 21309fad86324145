//! `parse(emit(c)) == c` for every typed CDB, over the crate's proptest strategies, and
//! `emit(parse(b)) == b` for canonical bytes.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use proptest::prelude::*;
use scsi::cdb::{self, strategy};

proptest! {
    #[test]
    fn block_cdb(c in strategy::block_cdb()) {
        let mut b = vec![0u8; c.buffer_len()];
        c.emit(&mut b);
        prop_assert_eq!(cdb::BlockCdb::parse(&b).unwrap(), c);
        let mut again = vec![0u8; b.len()];
        cdb::BlockCdb::parse(&b).unwrap().emit(&mut again);
        prop_assert_eq!(again, b);
    }

    #[test]
    fn inquiry_cdb(c in strategy::inquiry_cdb()) {
        let mut b = vec![0u8; c.buffer_len()];
        c.emit(&mut b);
        prop_assert_eq!(cdb::InquiryCdb::parse(&b).unwrap(), c);
    }

    #[test]
    fn mode_cdbs(s in strategy::mode_sense_cdb(), m in strategy::mode_select_cdb()) {
        let mut b = vec![0u8; s.buffer_len()];
        s.emit(&mut b);
        prop_assert_eq!(cdb::ModeSenseCdb::parse(&b).unwrap(), s);
        let mut b = vec![0u8; m.buffer_len()];
        m.emit(&mut b);
        prop_assert_eq!(cdb::ModeSelectCdb::parse(&b).unwrap(), m);
    }

    #[test]
    fn capacity_and_luns(
        a in strategy::read_capacity_10_cdb(),
        b in strategy::read_capacity_16_cdb(),
        r in strategy::report_luns_cdb(),
    ) {
        let mut x = vec![0u8; a.buffer_len()];
        a.emit(&mut x);
        prop_assert_eq!(cdb::ReadCapacity10Cdb::parse(&x).unwrap(), a);
        let mut x = vec![0u8; b.buffer_len()];
        b.emit(&mut x);
        prop_assert_eq!(cdb::ReadCapacity16Cdb::parse(&x).unwrap(), b);
        let mut x = vec![0u8; r.buffer_len()];
        r.emit(&mut x);
        prop_assert_eq!(cdb::ReportLunsCdb::parse(&x).unwrap(), r);
    }

    /// Arbitrary bytes never make a parser panic, and what parses re-emits canonically.
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
        scsi::fuzzing::cdb_parse(&bytes);
    }
}
