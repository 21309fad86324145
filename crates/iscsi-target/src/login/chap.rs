//! CHAP with MD5 (RFC 1994, as RFC 7143 §12.1.3 uses it): response computation, constant-time
//! verification, and the challenge source.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// `CHAP_A` value of MD5 (RFC 1994; the IANA PPP authentication algorithm number).
pub(crate) const ALGORITHM_MD5: &str = "5";

/// Length of the challenges the target sends, in bytes.
pub(crate) const CHALLENGE_LEN: usize = 16;

/// Largest `CHAP_C` accepted from an initiator: "the length of the binary value MUST NOT
/// exceed 1024 bytes" (RFC 7143 §12.1.3).
pub(crate) const MAX_CHALLENGE_LEN: usize = 1024;

/// The CHAP response: MD5 over the identifier, the secret and the challenge.
pub(crate) fn response(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update([id]);
    md5.update(secret);
    md5.update(challenge);
    md5.finalize().into()
}

/// Whether `got` is the expected response, compared in constant time.
pub(crate) fn verify(expected: &[u8; 16], got: &[u8]) -> bool {
    got.len() == expected.len() && bool::from(expected.ct_eq(got))
}

/// Derives CHAP identifiers and challenges from the 32 random bytes a connection was created
/// with: block `n` is MD5(seed ‖ n). The driver supplies fresh randomness per connection.
#[derive(Clone)]
pub(crate) struct ChallengeSource {
    seed: [u8; 32],
    counter: u64,
}

impl core::fmt::Debug for ChallengeSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChallengeSource")
    }
}

impl ChallengeSource {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        ChallengeSource { seed, counter: 0 }
    }

    /// The next 16 pseudo-random bytes.
    pub(crate) fn next_block(&mut self) -> [u8; 16] {
        let mut md5 = Md5::new();
        md5.update(self.seed);
        md5.update(self.counter.to_be_bytes());
        self.counter += 1;
        md5.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_matches_rfc1994_md5() {
        // MD5(0x01 || "secret" || 0x00..0x0f), computed independently with Python's hashlib.
        let challenge: Vec<u8> = (0u8..16).collect();
        let r = response(1, b"secret", &challenge);
        let expected: [u8; 16] = [
            0x74, 0x0e, 0x86, 0x46, 0x3b, 0xda, 0x3a, 0x4d, 0x70, 0x17, 0xd6, 0xe0, 0xfb, 0xa0,
            0x69, 0x9d,
        ];
        assert_eq!(r, expected);
        assert!(verify(&r, &expected));
        assert!(!verify(&r, &expected[..15]));
        let mut wrong = expected;
        wrong[0] ^= 1;
        assert!(!verify(&r, &wrong));
    }

    #[test]
    fn challenges_differ() {
        let mut s = ChallengeSource::new([7; 32]);
        assert_ne!(s.next_block(), s.next_block());
    }
}
