//! HMAC-SHA256 over the canonical payload (docs/bridge.md): the MAC is
//! `base64(hmac_sha256(secret.encode(), canonical_json_without_hmac))`, compared
//! in constant time (`Mac::verify_slice`, which uses `subtle`).
//!
//! Secrets come in from the caller (the CLI reads `GPT_BRIDGE_HMAC_SECRET` and
//! the optional rotation secret); this crate never reads the environment, never
//! writes a secret anywhere and never prints one: `Secrets` has a redacting
//! `Debug` and no `Display`/`Serialize`.

use crate::canon::{self, JVal};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The accepted secrets (current first, then the rotation window) and which one signs.
#[derive(Clone)]
pub struct Secrets {
    accepted: Vec<Vec<u8>>,
    /// The name of each accepted secret's slot ("current", "next", "previous").
    names: Vec<&'static str>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} accepted, redacted)", self.accepted.len())
    }
}

/// Which accepted secret matched (0 = current; see [`Secrets::slot_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySlot(pub usize);

impl Secrets {
    /// `current` signs and verifies; `next` (during a rotation) only verifies.
    /// Empty secrets are ignored.
    pub fn new(current: &str, next: Option<&str>) -> Secrets {
        Secrets::from_bytes(current.as_bytes(), next.map(str::as_bytes), None)
    }

    /// The secrets as bytes (as read from a file): `current` signs and
    /// verifies; `next` (the signer's coming secret) and `previous` (the
    /// signer's former one) only verify, for a rotation window in either
    /// direction. Empty secrets are ignored.
    pub fn from_bytes(current: &[u8], next: Option<&[u8]>, previous: Option<&[u8]>) -> Secrets {
        let mut s = Secrets {
            accepted: Vec::new(),
            names: Vec::new(),
        };
        for (name, key) in [
            ("current", Some(current)),
            ("next", next),
            ("previous", previous),
        ] {
            if let Some(k) = key.filter(|k| !k.is_empty()) {
                s.accepted.push(k.to_vec());
                s.names.push(name);
            }
        }
        s
    }

    /// "current", "next" or "previous": which secret a slot holds.
    pub fn slot_name(&self, slot: KeySlot) -> &'static str {
        self.names.get(slot.0).copied().unwrap_or("unknown")
    }

    /// The slot of the secret named `name` ("current", "next", "previous").
    pub fn slot_of(&self, name: &str) -> Option<KeySlot> {
        self.names.iter().position(|n| *n == name).map(KeySlot)
    }

    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }

    pub fn count(&self) -> usize {
        self.accepted.len()
    }

    /// The MAC of `payload` with secret `slot`, base64 (standard, padded).
    pub fn sign_payload(&self, payload: &[u8], slot: KeySlot) -> Option<String> {
        let key = self.accepted.get(slot.0)?;
        let mut mac = HmacSha256::new_from_slice(key).ok()?;
        mac.update(payload);
        Some(STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Which accepted secret produced `mac_b64` over `payload`, compared in
    /// constant time. `Err` when the MAC is not base64 of 32 bytes.
    pub fn verify_payload(&self, payload: &[u8], mac_b64: &str) -> Result<Option<KeySlot>, String> {
        let tag = STANDARD
            .decode(mac_b64.as_bytes())
            .map_err(|e| format!("not standard base64: {e}"))?;
        if tag.len() != 32 {
            return Err(format!(
                "decodes to {} bytes; an HMAC-SHA256 has 32",
                tag.len()
            ));
        }
        for (i, key) in self.accepted.iter().enumerate() {
            let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
                continue;
            };
            mac.update(payload);
            if mac.verify_slice(&tag).is_ok() {
                return Ok(Some(KeySlot(i)));
            }
        }
        Ok(None)
    }
}

/// Sign a parsed document: returns the MAC of its canonical payload.
pub fn sign(doc: &JVal, secrets: &Secrets, slot: KeySlot) -> Option<String> {
    secrets.sign_payload(&canon::signing_payload(doc), slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_rotation() {
        // python3: base64.b64encode(hmac.new(b"k", b'{"a":1}', hashlib.sha256).digest())
        let s = Secrets::new("k", None);
        let mac = s.sign_payload(br#"{"a":1}"#, KeySlot(0)).expect("mac");
        assert_eq!(mac, "w6kv+eJ0zczieljBWnjsbcu9vQA4qH56EbrvICj9i/8=");
        assert_eq!(s.verify_payload(br#"{"a":1}"#, &mac), Ok(Some(KeySlot(0))));
        assert_eq!(s.verify_payload(br#"{"a":2}"#, &mac), Ok(None));
        let rotating = Secrets::new("new", Some("k"));
        assert_eq!(
            rotating.verify_payload(br#"{"a":1}"#, &mac),
            Ok(Some(KeySlot(1)))
        );
        assert!(s.verify_payload(b"x", "not base64!").is_err());
        assert!(s.verify_payload(b"x", "AAAA").is_err());
        assert_eq!(format!("{s:?}"), "Secrets(1 accepted, redacted)");
        let three = Secrets::from_bytes(b"new", None, Some(b"k"));
        let slot = three.verify_payload(br#"{"a":1}"#, &mac).expect("mac");
        assert_eq!(slot.map(|s| three.slot_name(s)), Some("previous"));
        assert_eq!(three.slot_of("next"), None);
    }
}
