//! Text and login data: the `key=value\0` pairs of Login and Text PDUs (RFC 7143 §6 "Login and
//! Full Feature Phase Negotiation").
//!
//! Three layers, each usable alone:
//!
//! - [`TextAssembler`] joins the data segments of a PDU series linked by the C (Continue) bit
//!   into one logical text data segment, and [`split_for_pdus`] does the reverse for sending.
//! - [`TextPairs`] parses and emits the pairs of one complete text (§6.1 "Text Format"): ordered,
//!   validated, and bounded in key length, value length and count.
//! - Typed values (§6.1, §6.2 "Text Mode Negotiation"): [`parse_bool`], [`parse_number`],
//!   [`Range`], [`parse_list`], [`parse_binary`] and the formatters, [`SpecialValue`] for the
//!   reserved answers, and [`IscsiName`] for `InitiatorName`/`TargetName` (§4.2.7 "iSCSI Names").
//!
//! What a key means and how its value is negotiated belongs to the login layer; this module only
//! knows the value *types* and the size limits the RFC attaches to keys.
//!
//! # Limits
//!
//! | limit | value | RFC 7143 |
//! |---|---|---|
//! | key name | [`MAX_KEY_LEN`] = 63 bytes | §6.1: "A standard-label MUST begin with a capital letter and must not exceed 63 characters." |
//! | simple value | [`MAX_SIMPLE_VALUE_LEN`] = 255 bytes | §6.1: "If not otherwise specified, the maximum length of a simple-value (not its encoded representation) is 255 bytes, not including the delimiter (comma or zero byte)." |
//! | `CHAP_C`, `CHAP_R` | [`MAX_CHAP_VALUE_LEN`] = 2050 bytes | §12.1.3: binary length "MUST NOT exceed 1024 bytes"; `0x` + 2048 hex digits |
//! | Kerberos and SRP values | [`MAX_LARGE_VALUE_LEN`] = 64 KiB | §6.1: "at least 64 kilobytes of key=value data" for very long authentication items |
//! | whole text | [`DEFAULT_MAX_TEXT_LEN`] = 64 KiB | §6.1: "MUST support receiving at least 8192 bytes of key=value data in a negotiation sequence", 64 KiB with long authentication items |
//! | pairs per text | [`MAX_PAIRS`] = 512 | none; a bound on what a peer can make us store |
//! | iSCSI name | [`MAX_NAME_LEN`] = 223 bytes | §4.2.7.2: "The UTF-8 encoding of the name is not larger than 223 bytes." |
//!
//! # Example
//!
//! A login request from iPXE, received in two PDUs, then answered:
//!
//! ```
//! use iscsi_pdu::text_data::{IscsiName, TextAssembler, TextPairs, parse_number, split_for_pdus};
//!
//! let request = b"InitiatorName=iqn.2010-04.org.ipxe:52540012345\0\
//!     TargetName=iqn.2001-04.com.example:boot\0SessionType=Normal\0AuthMethod=None\0\
//!     MaxRecvDataSegmentLength=8192\0";
//! let mut asm = TextAssembler::new();
//! let mut received = None;
//! for (segment, more) in split_for_pdus(request, 64) {
//!     received = asm.push(segment, more)?;
//! }
//! let offer = received.ok_or("the text is incomplete")?;
//! offer.check_unique()?;
//! let initiator = IscsiName::parse(offer.get("InitiatorName").ok_or("no InitiatorName")?)?;
//! assert_eq!(initiator.as_str(), "iqn.2010-04.org.ipxe:52540012345");
//! let mrdsl = parse_number("MaxRecvDataSegmentLength", offer.get("MaxRecvDataSegmentLength").ok_or("no MaxRecvDataSegmentLength")?)?;
//! assert_eq!(mrdsl, 8192);
//!
//! let mut answer = TextPairs::new();
//! answer.push("AuthMethod", "None")?;
//! answer.push("TargetPortalGroupTag", "1")?;
//! assert_eq!(answer.to_bytes(), b"AuthMethod=None\0TargetPortalGroupTag=1\0");
//! assert_eq!(TextPairs::parse(&answer.to_bytes())?, answer);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod assembler;
mod name;
mod pairs;
mod value;

pub use assembler::{DEFAULT_MAX_TEXT_LEN, TextAssembler, TextChunks, split_for_pdus};
pub use name::{IscsiName, IscsiNameKind, MAX_NAME_LEN};
pub use pairs::{
    MAX_CHAP_VALUE_LEN, MAX_KEY_LEN, MAX_LARGE_VALUE_LEN, MAX_PAIRS, MAX_SIMPLE_VALUE_LEN,
    PairsIter, TextPairs, max_value_len,
};
pub use value::{
    Range, SpecialValue, format_base64, format_bool, format_hex, format_list, format_number,
    is_key_name, is_standard_label, is_text_value, parse_binary, parse_bool, parse_list,
    parse_number, parse_standard_label, parse_text_value,
};

#[cfg(test)]
mod tests;
