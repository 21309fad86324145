//! Entry points of the fuzz targets in `fuzz/` (rustls `internal::fuzzing` style). Not part of
//! the API.

use crate::Ibft;

/// Fuzz target `ibft_parse`: parses and lints arbitrary bytes, and re-emits what parses.
///
/// Neither may panic. A parsed table must re-emit (unless its strings, which the input may
/// share between fields, no longer fit 64 KiB once laid out one after the other), and the
/// re-emitted table must parse to the same value, lint without unreadable parts, and emit the
/// same bytes again.
///
/// # Panics
/// When one of these properties fails: that is the finding.
pub fn ibft_parse(data: &[u8]) {
    let problems = Ibft::lint(data);
    let Ok(ibft) = Ibft::parse(data) else {
        return;
    };
    // Under cfg(fuzzing) parse skips the checksum but lint does not, so lint's verdict on
    // `data` is not compared with parse's.
    let _ = problems;
    let Ok(bytes) = ibft.to_bytes() else {
        return;
    };
    match Ibft::parse(&bytes) {
        Ok(again) => {
            assert!(again == ibft, "re-emitted table parses differently");
            assert!(
                again.to_bytes().ok().as_deref() == Some(&bytes[..]),
                "re-emitting a canonical table changed its bytes"
            );
        }
        Err(e) => panic!("re-emitted table does not parse: {e}"),
    }
    for problem in Ibft::lint(&bytes) {
        assert!(
            !matches!(problem, crate::Problem::Unreadable(_)),
            "re-emitted table has an unreadable part: {problem}"
        );
    }
}
