//! The commercial ciphers held to the standards' own examples (known answers) and to OpenSSL 3
//! (an independent implementation, through its command line): SM3 (GB/T 32905-2016 Appendix A),
//! SM4 (GB/T 32907-2016 Appendix A), SM4-GCM (RFC 8998 Appendix A.1) and SM2 signatures
//! (GB/T 32918.2-2016 with the recommended curve of GB/T 32918.5-2017).

use jingwei_cases::seal::{AuditSigner, AuditVerifier, DataKey, hex, sm3, unhex};
use sm4::cipher::{BlockEncrypt, KeyInit};
use std::process::Command;

fn h(s: &str) -> Vec<u8> {
    unhex(s).unwrap()
}

#[test]
fn sm3_known_answers() {
    assert_eq!(
        hex(&sm3(b"abc")),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    assert_eq!(
        hex(&sm3("abcd".repeat(16).as_bytes())),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
}

#[test]
fn sm4_known_answers() {
    let key = h("0123456789abcdeffedcba9876543210");
    let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
    let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&key);
    cipher.encrypt_block(&mut block);
    assert_eq!(hex(&block), "681edf34d206965e86b3e94f536e4246");
    // Example 2: the same block encrypted 1,000,000 times with the same key.
    let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&key);
    for _ in 0..1_000_000 {
        cipher.encrypt_block(&mut block);
    }
    assert_eq!(hex(&block), "595298c7c6fd271f0402f804c33d3f66");
}

#[test]
fn sm4_gcm_known_answer_of_rfc_8998() {
    let key: [u8; 16] = h("0123456789ABCDEFFEDCBA9876543210").try_into().unwrap();
    let nonce: [u8; 12] = h("00001234567800000000ABCD").try_into().unwrap();
    let aad = h("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
    let plain = h("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
                   EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA");
    let out = DataKey::from_bytes(key).gcm_encrypt(nonce, &aad, &plain);
    assert_eq!(
        hex(&out[..plain.len()]),
        "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735\
         d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
    );
    assert_eq!(hex(&out[plain.len()..]), "83de3541e4c2b58177e065a9bf7b62ec");
}

/// The signature example of the standard on the recommended curve: private key d, message
/// "message digest", identifier 1234567812345678 (GB/T 32918.5-2017 Appendix A / GM/T 0003.5).
#[test]
fn sm2_verifies_the_standards_signature_and_refuses_an_altered_one() {
    let d = h("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8");
    let signer = AuditSigner::from_scalar(&d, "1234567812345678").unwrap();
    let v = signer.verifier();
    let sig = h("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3\
                 B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA");
    assert!(v.verify(b"message digest", &sig));
    assert!(!v.verify(b"message digesT", &sig));
    let mut bad = sig.clone();
    bad[40] ^= 0x10;
    assert!(!v.verify(b"message digest", &bad));
    // Another identifier gives another Z: the same signature does not verify.
    let other = AuditSigner::from_scalar(&d, "ALICE123@YAHOO.COM").unwrap().verifier();
    assert!(!other.verify(b"message digest", &sig));
}

fn openssl(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn sm3_and_sm4_agree_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..100_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(dir.path().join("data"), &data).unwrap();
    let out = openssl(&["dgst", "-sm3", "-r", "data"], dir.path());
    let theirs = String::from_utf8_lossy(&out.stdout);
    assert_eq!(theirs.split_whitespace().next().unwrap(), hex(&sm3(&data)));

    // SM4-ECB of 16 blocks, no padding.
    let key = h("fedcba98765432100123456789abcdef");
    let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
    let mut mine = Vec::new();
    for chunk in data[..256].chunks(16) {
        let mut b = sm4::cipher::generic_array::GenericArray::clone_from_slice(chunk);
        cipher.encrypt_block(&mut b);
        mine.extend_from_slice(&b);
    }
    std::fs::write(dir.path().join("blocks"), &data[..256]).unwrap();
    let out = openssl(&["enc", "-sm4-ecb", "-nopad", "-K", &hex(&key), "-in", "blocks"], dir.path());
    assert_eq!(hex(&out.stdout), hex(&mine));
}

#[test]
fn sm2_signatures_cross_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // OpenSSL makes a key and signs; we verify.
    openssl(&["genpkey", "-algorithm", "SM2", "-out", "key.pem"], p);
    openssl(&["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"], p);
    std::fs::write(p.join("msg"), "JWC1 checkpoint 审计").unwrap();
    openssl(
        &[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-digest",
            "sm3",
            "-inkey",
            "key.pem",
            "-in",
            "msg",
            "-out",
            "sig.der",
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        p,
    );
    let der = std::fs::read(p.join("sig.der")).unwrap();
    let sig = der_to_rs(&der);
    let v = AuditVerifier::from_pem(&std::fs::read_to_string(p.join("pub.pem")).unwrap()).unwrap();
    assert!(v.verify("JWC1 checkpoint 审计".as_bytes(), &sig));
    // Our reading of OpenSSL's private key signs what OpenSSL verifies.
    let ours = AuditSigner::from_pem(&std::fs::read_to_string(p.join("key.pem")).unwrap()).unwrap();
    std::fs::write(p.join("sig2.der"), rs_to_der(&ours.sign("JWC1 checkpoint 审计".as_bytes()))).unwrap();
    let out = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-rawin",
            "-digest",
            "sm3",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "msg",
            "-sigfile",
            "sig2.der",
            "-pkeyopt",
            "distid:1234567812345678",
        ])
        .current_dir(p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // A key we write, OpenSSL reads.
    std::fs::write(p.join("ours.pem"), AuditSigner::generate().to_pem()).unwrap();
    openssl(&["pkey", "-in", "ours.pem", "-noout"], p);
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` to 64 bytes r ‖ s.
fn der_to_rs(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let mut i = 2;
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let v = &der[i + 2..i + 2 + len];
        let v = &v[v.len().saturating_sub(32)..];
        out.extend(std::iter::repeat_n(0u8, 32 - v.len()));
        out.extend_from_slice(v);
        i += 2 + len;
    }
    out
}

fn rs_to_der(rs: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for half in rs.chunks(32) {
        let mut v: Vec<u8> = half.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_some_and(|&b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        body.push(0x02);
        body.push(v.len() as u8);
        body.extend(v);
    }
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}
