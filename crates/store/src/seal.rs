//! Authenticated encryption with the master key (XChaCha20-Poly1305).
//!
//! Used for blobs at rest and for API secrets that must stay recoverable. A sealed value is
//! `nonce (24 bytes) || ciphertext+tag`; the associated data binds it to its purpose and
//! name, so a sealed blob cannot be swapped for another one on disk unnoticed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("master key must be 32 bytes given as 64 hex characters")]
    BadKey,
    #[error("sealed data failed authentication (wrong master key or tampered data)")]
    Open,
}

/// Holds the master key. `Debug` never prints it.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Parses a key written as 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<Self, SealError> {
        let bytes = hex::decode(s.trim()).map_err(|_| SealError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self::new(&key))
    }

    /// A fresh random key as 64 hex characters.
    pub fn generate_hex() -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        hex::encode(key)
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Encryption only fails for plaintexts beyond 256 GiB, which nothing here makes.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = Sealer::from_hex(&Sealer::generate_hex()).unwrap();
        let sealed = s.seal(b"secret", b"purpose");
        assert_eq!(s.open(&sealed, b"purpose").unwrap(), b"secret");
        assert!(s.open(&sealed, b"other").is_err());
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(s.open(&bad, b"purpose").is_err());
        assert!(s.open(&sealed[..10], b"purpose").is_err());
        let other = Sealer::from_hex(&Sealer::generate_hex()).unwrap();
        assert!(other.open(&sealed, b"purpose").is_err());
    }

    #[test]
    fn key_parsing() {
        assert!(Sealer::from_hex("zz").is_err());
        assert!(Sealer::from_hex(&"ab".repeat(31)).is_err());
        assert!(Sealer::from_hex(&format!(" {}\n", "ab".repeat(32))).is_ok());
        assert_eq!(format!("{:?}", Sealer::new(&[7; 32])), "Sealer(<redacted>)");
    }
}
