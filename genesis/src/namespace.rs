//! Celestia version-0 namespaces as they appear in genesis.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Bytes of a version-0 namespace id a user may choose (Celestia fixes the leading 18 of 28 to
/// zero).
pub const NAMESPACE_ID_LEN: usize = 10;

/// The user-chosen part of a Celestia version-0 namespace, written as 20 hex characters.
///
/// Celestia reserves version-0 ids whose first nine user bytes are zero (its primary reserved
/// namespaces), so those are refused.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(pub [u8; NAMESPACE_ID_LEN]);

impl Namespace {
    /// The default namespace of a rollup: the first ten bytes of
    /// `sha256("babel/rollup/" || rollup_id as 8 big-endian bytes)`.
    pub fn for_rollup(rollup_id: u64) -> Self {
        Self::derive(b"babel/rollup/", rollup_id)
    }

    /// The default sequencer namespace (headers and certificates) of a chain:
    /// `sha256("babel/sequencer/" || chain_id)[..10]`.
    pub fn for_sequencer(chain_id: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(b"babel/sequencer/")
            .chain_update(chain_id);
        Self::from_digest(&digest.finalize())
    }

    fn derive(domain: &[u8], id: u64) -> Self {
        let digest = Sha256::new()
            .chain_update(domain)
            .chain_update(id.to_be_bytes());
        Self::from_digest(&digest.finalize())
    }

    fn from_digest(digest: &[u8]) -> Self {
        let mut id = [0u8; NAMESPACE_ID_LEN];
        id.copy_from_slice(&digest[..NAMESPACE_ID_LEN]);
        Self(id)
    }

    /// Whether Celestia reserves this id (all but the last byte zero).
    pub fn is_reserved(&self) -> bool {
        self.0[..NAMESPACE_ID_LEN - 1].iter().all(|b| *b == 0)
    }

    /// Parse 20 hex characters (an optional `0x` prefix is accepted).
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(s).map_err(|e| format!("not hex: {e}"))?;
        let id: [u8; NAMESPACE_ID_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "namespace id must be {NAMESPACE_ID_LEN} bytes, got {}",
                b.len()
            )
        })?;
        Ok(Self(id))
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({self})")
    }
}

impl Serialize for Namespace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Namespace {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_namespaces_differ_per_rollup_and_are_not_reserved() {
        let a = Namespace::for_rollup(1);
        let b = Namespace::for_rollup(2);
        assert_ne!(a, b);
        assert!(!a.is_reserved() && !b.is_reserved());
        assert_ne!(Namespace::for_sequencer("x"), Namespace::for_sequencer("y"));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let ns = Namespace::for_rollup(7);
        assert_eq!(Namespace::from_hex(&ns.to_string()), Ok(ns));
        assert_eq!(Namespace::from_hex(&format!("0x{ns}")), Ok(ns));
        assert!(Namespace::from_hex("00").unwrap_err().contains("10 bytes"));
        assert!(Namespace::from_hex("zz").unwrap_err().contains("not hex"));
        assert!(Namespace::from_hex("00000000000000000001").is_ok_and(|n| n.is_reserved()));
    }
}
