//! Text and login data: `key=value\0` pairs (RFC 7143 §6). Owned by the text-data work in progress.
