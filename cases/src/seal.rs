//! The commercial ciphers the record is protected with (GB/T 39786-2021 asks for them for the
//! integrity and confidentiality of important data):
//! - SM3 (GB/T 32905-2016), the hash of the audit chain ([`sm3()`]);
//! - SM4 (GB/T 32907-2016) in GCM mode (RFC 8998), for photos and personal fields at rest
//!   ([`DataKey`]);
//! - SM2 (GB/T 32918-2016) signatures with SM3 and a distinguishing identifier, for the audit
//!   chain's checkpoints ([`AuditSigner`], [`AuditVerifier`]).
//!
//! The primitives are RustCrypto's `sm3`, `sm4` (with the generic `aes-gcm` mode) and `sm2`
//! crates; the tests hold them to the standards' examples and to OpenSSL.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use rand_core::{OsRng, RngCore};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sm3::Digest;

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

/// The SM3 hash of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex (whitespace ignored); `None` for anything else.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// Why sealed data could not be opened, or a key not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not a sealed value of this format.
    #[error("not SM4-GCM sealed data ({0})")]
    Format(&'static str),
    /// Sealed with another key.
    #[error("sealed with another data key (fingerprint {found}, this key is {mine})")]
    OtherKey {
        /// The sealing key's fingerprint.
        found: String,
        /// This key's.
        mine: String,
    },
    /// The tag did not verify: the data or its context was altered.
    #[error("SM4-GCM tag mismatch: the sealed data was altered or belongs to another record")]
    Tag,
    /// A key that could not be read.
    #[error("{0}")]
    Key(String),
}

/// The magic of a sealed value: `SM4G`, then a format version byte.
const SEAL_MAGIC: &[u8; 4] = b"SM4G";
const SEAL_VERSION: u8 = 1;
/// Magic, version, key fingerprint (8), nonce (12); the ciphertext and its 16-byte tag follow.
const SEAL_HEADER: usize = 4 + 1 + 8 + 12;

/// A 128-bit SM4 data key: seals values with SM4-GCM, each with a fresh random 96-bit nonce and
/// the record it belongs to as associated data (a sealed phone number moved to another case
/// does not open). Layout of a sealed value: `SM4G`, version 1, the first 8 bytes of the key's
/// SM3 (which key sealed it), the nonce, the ciphertext and the tag.
#[derive(Clone)]
pub struct DataKey {
    key: [u8; 16],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({})", self.fingerprint())
    }
}

impl DataKey {
    /// A key from its 16 bytes.
    pub fn from_bytes(key: [u8; 16]) -> DataKey {
        DataKey { key }
    }

    /// A key from 32 hex digits (a key file's content).
    pub fn from_hex(s: &str) -> Result<DataKey, SealError> {
        let bytes = unhex(s).ok_or_else(|| SealError::Key("the data key is not hex".into()))?;
        let key: [u8; 16] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SealError::Key(format!("the data key has {} bytes; SM4 takes 16", b.len())))?;
        Ok(DataKey { key })
    }

    /// A new random key.
    pub fn generate() -> DataKey {
        let mut key = [0u8; 16];
        OsRng.fill_bytes(&mut key);
        DataKey { key }
    }

    /// The key as 32 hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.key)
    }

    /// Which key this is, without revealing it: hex of the first 8 bytes of SM3("jingwei data key" ‖ key).
    pub fn fingerprint(&self) -> String {
        hex(&self.fingerprint_bytes())
    }

    fn fingerprint_bytes(&self) -> [u8; 8] {
        let mut h = sm3::Sm3::new();
        h.update(b"jingwei data key");
        h.update(self.key);
        let d: [u8; 32] = h.finalize().into();
        d[..8].try_into().expect("8 of 32")
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new_from_slice(&self.key).expect("16-byte SM4 key")
    }

    /// Seal `plain`, bound to `context` (for example `case:42:phone`).
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        self.seal_with_nonce(plain, context, nonce)
    }

    fn seal_with_nonce(&self, plain: &[u8], context: &[u8], nonce: [u8; 12]) -> Vec<u8> {
        let ct = self
            .cipher()
            .encrypt((&nonce).into(), Payload { msg: plain, aad: context })
            .expect("SM4-GCM encrypts any length the store holds");
        let mut out = Vec::with_capacity(SEAL_HEADER + ct.len());
        out.extend_from_slice(SEAL_MAGIC);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&self.fingerprint_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Open a value sealed by [`DataKey::seal`] with the same context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        if !is_sealed(sealed) {
            return Err(SealError::Format("no SM4G header"));
        }
        if sealed[4] != SEAL_VERSION {
            return Err(SealError::Format("unknown version"));
        }
        if sealed.len() < SEAL_HEADER + 16 {
            return Err(SealError::Format("shorter than its tag"));
        }
        let found = &sealed[5..13];
        if found != self.fingerprint_bytes() {
            return Err(SealError::OtherKey {
                found: hex(found),
                mine: self.fingerprint(),
            });
        }
        let nonce: [u8; 12] = sealed[13..25].try_into().expect("12 bytes");
        self.cipher()
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: &sealed[SEAL_HEADER..],
                    aad: context,
                },
            )
            .map_err(|_| SealError::Tag)
    }

    /// Raw SM4-GCM with a caller's nonce, as RFC 8998 states its example: ciphertext ‖ tag.
    pub fn gcm_encrypt(&self, nonce: [u8; 12], aad: &[u8], plain: &[u8]) -> Vec<u8> {
        self.seal_with_nonce(plain, aad, nonce)[SEAL_HEADER..].to_vec()
    }
}

/// Whether bytes look like a sealed value (the header, not the tag, is checked).
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.len() >= SEAL_HEADER && &bytes[..4] == SEAL_MAGIC
}

/// The distinguishing identifier of the audit signatures when none is given: GM/T 0009's
/// default `1234567812345678`.
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// An auditor's SM2 private key, signing checkpoints of the audit chain (SM3 with the
/// identifier's Z value, as GB/T 32918.2 defines the signature).
#[derive(Clone)]
pub struct AuditSigner {
    key: sm2::dsa::SigningKey,
}

impl AuditSigner {
    /// A new random key.
    pub fn generate() -> AuditSigner {
        let secret = sm2::SecretKey::random(&mut OsRng);
        AuditSigner {
            key: sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).expect("a random non-zero key"),
        }
    }

    /// A key from its 32-byte private scalar (big-endian).
    pub fn from_scalar(bytes: &[u8], distid: &str) -> Result<AuditSigner, SealError> {
        sm2::dsa::SigningKey::from_slice(distid, bytes)
            .map(|key| AuditSigner { key })
            .map_err(|_| SealError::Key("not an SM2 private key (32 bytes, below the group order)".into()))
    }

    /// A key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm SM2` writes).
    pub fn from_pem(pem: &str) -> Result<AuditSigner, SealError> {
        let secret =
            sm2::SecretKey::from_pkcs8_pem(pem).map_err(|e| SealError::Key(format!("not an SM2 private key in PKCS#8 PEM: {e}")))?;
        Ok(AuditSigner {
            key: sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).map_err(|e| SealError::Key(e.to_string()))?,
        })
    }

    /// The key as PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        let secret = sm2::SecretKey::from_bytes(&self.key.to_bytes()).expect("a signing key is a valid secret");
        secret.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 encodes").to_string()
    }

    /// The public half.
    pub fn verifier(&self) -> AuditVerifier {
        AuditVerifier {
            key: self.key.verifying_key().clone(),
        }
    }

    /// Sign: the 64-byte r ‖ s.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: sm2::dsa::Signature = self.key.sign(message);
        sig.to_vec()
    }
}

/// An SM2 public key checking checkpoint signatures.
#[derive(Clone, Debug)]
pub struct AuditVerifier {
    key: sm2::dsa::VerifyingKey,
}

impl AuditVerifier {
    /// A key from SEC1 bytes (65 bytes, uncompressed) and a distinguishing identifier.
    pub fn from_sec1(bytes: &[u8], distid: &str) -> Result<AuditVerifier, SealError> {
        sm2::dsa::VerifyingKey::from_sec1_bytes(distid, bytes)
            .map(|key| AuditVerifier { key })
            .map_err(|_| SealError::Key("not an SM2 public key (SEC1)".into()))
    }

    /// A key from SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<AuditVerifier, SealError> {
        let public = sm2::PublicKey::from_public_key_pem(pem).map_err(|e| SealError::Key(format!("not an SM2 public key in PEM: {e}")))?;
        Ok(AuditVerifier {
            key: sm2::dsa::VerifyingKey::new(DEFAULT_DISTID, public).map_err(|e| SealError::Key(e.to_string()))?,
        })
    }

    /// The key as PEM.
    pub fn to_pem(&self) -> String {
        let public = sm2::PublicKey::from_sec1_bytes(&self.key.to_sec1_bytes()).expect("a verifying key is a point");
        public.to_public_key_pem(LineEnding::LF).expect("SPKI encodes")
    }

    /// Whether `signature` (r ‖ s, 64 bytes) signs `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        sm2::dsa::Signature::from_slice(signature).is_ok_and(|sig| self.key.verify(message, &sig).is_ok())
    }

    /// Which key this is: hex of the first 8 bytes of the SM3 of its SEC1 form.
    pub fn fingerprint(&self) -> String {
        hex(&sm3(&self.key.to_sec1_bytes())[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex("0aff 10").unwrap(), vec![0x0a, 0xff, 0x10]);
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }

    #[test]
    fn a_seal_opens_only_with_its_key_and_context() {
        let k = DataKey::generate();
        let s = k.seal("13800138000".as_bytes(), b"case:1:phone");
        assert!(is_sealed(&s));
        assert!(!s.windows(11).any(|w| w == b"13800138000"));
        assert_eq!(k.open(&s, b"case:1:phone").unwrap(), b"13800138000");
        assert_eq!(k.open(&s, b"case:2:phone"), Err(SealError::Tag));
        let other = DataKey::generate();
        assert!(matches!(other.open(&s, b"case:1:phone"), Err(SealError::OtherKey { .. })));
        let mut bad = s.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(k.open(&bad, b"case:1:phone"), Err(SealError::Tag));
        assert!(matches!(k.open(&s[..20], b"x"), Err(SealError::Format(_))));
        // Two seals of the same value differ (fresh nonces).
        assert_ne!(s, k.seal("13800138000".as_bytes(), b"case:1:phone"));
        assert_eq!(DataKey::from_hex(&k.to_hex()).unwrap().fingerprint(), k.fingerprint());
        assert!(DataKey::from_hex("00ff").is_err());
    }

    #[test]
    fn keys_round_trip_through_pem() {
        let s = AuditSigner::generate();
        let again = AuditSigner::from_pem(&s.to_pem()).unwrap();
        let v = AuditVerifier::from_pem(&s.verifier().to_pem()).unwrap();
        let sig = again.sign(b"checkpoint");
        assert!(v.verify(b"checkpoint", &sig));
        assert!(!v.verify(b"checkpoint!", &sig));
        assert!(!v.verify(b"checkpoint", &sig[..63]));
        assert!(!AuditSigner::generate().verifier().verify(b"checkpoint", &sig));
    }
}
