//! The field-app gateway (`jingwei serve`): one login that holds no rights of its own, checks a
//! field user's password against the verifier PostgreSQL keeps for that user, and then acts as
//! the user (`SET ROLE`), so that every row it reads or writes passes the same row-level
//! security, triggers and audit as the user's own login — and the audit names the user.

use crate::{Result, Shared, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

impl Shared {
    /// Whether this login is a gateway (a member of `jingwei_gateway`).
    pub fn is_gateway(&mut self) -> Result<bool> {
        let r = self.q_one(
            "reading whether this login is a gateway",
            "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid \
             JOIN pg_roles l ON l.oid = m.member WHERE g.rolname = 'jingwei_gateway' AND l.rolname = session_user)",
            &[],
        )?;
        Ok(r.get(0))
    }

    /// As the gateway: whether `password` is `user`'s, checked against the SCRAM-SHA-256
    /// verifier the server keeps (`jingwei.login_verifier`). `false` for a user who is no
    /// inspector or commander of the store, who may not log in, or whose login has expired.
    pub fn check_password(&mut self, user: &str, password: &str) -> Result<bool> {
        Ok(self.login_verifier(user)?.is_some_and(|v| scram_matches(&v, password)))
    }

    /// As the gateway: the SCRAM-SHA-256 verifier of `user`, if an inspector or commander of
    /// the store who may log in now.
    pub fn login_verifier(&mut self, user: &str) -> Result<Option<String>> {
        let r = self.q_one("checking a password", "SELECT jingwei.login_verifier($1)", &[&user])?;
        Ok(r.get(0))
    }

    /// As the gateway: act as `user` (an inspector or commander of the store) from now on, or
    /// as nobody (`None`: no rights at all). The role and department are the user's afterwards.
    pub fn act_as(&mut self, user: Option<&str>) -> Result<()> {
        let sql = match user {
            Some(u) => {
                crate::schema::valid_name(u)?;
                format!("SET ROLE \"{u}\"")
            }
            None => "RESET ROLE".to_owned(),
        };
        if let Err(e) = self.client.batch_execute(&sql) {
            return Err(match self.err("acting as a user", e) {
                StoreError::Denied { target, .. } => StoreError::Denied {
                    target,
                    message: format!("the gateway may not act as {}", user.unwrap_or("nobody")),
                },
                other => other,
            });
        }
        let row = self.q_one("reading who you are", "SELECT jingwei.my_role(), jingwei.my_department()", &[])?;
        self.role = row.get::<_, Option<String>>(0).as_deref().and_then(crate::Role::parse);
        self.department = row.get(1);
        Ok(())
    }
}

/// Whether `password` matches a PostgreSQL SCRAM-SHA-256 verifier
/// (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64): StoredKey =
/// SHA-256(HMAC(SaltedPassword, "Client Key")), SaltedPassword = PBKDF2-HMAC-SHA-256 of the
/// SASLprep'd password (RFC 5802, RFC 7677), compared in constant time.
pub fn scram_matches(verifier: &str, password: &str) -> bool {
    let parse = || -> Option<(u32, Vec<u8>, Vec<u8>)> {
        let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
        let (iter_salt, keys) = rest.split_once('$')?;
        let (iter, salt) = iter_salt.split_once(':')?;
        let (stored, _server) = keys.split_once(':')?;
        Some((iter.parse().ok()?, B64.decode(salt).ok()?, B64.decode(stored).ok()?))
    };
    let Some((iterations, salt, stored)) = parse() else {
        return false;
    };
    if iterations == 0 || stored.len() != 32 {
        return false;
    }
    // As PostgreSQL and its clients: SASLprep where it applies, else the bytes as they are.
    let prepared = stringprep::saslprep(password)
        .map(|p| p.into_owned())
        .unwrap_or_else(|_| password.to_owned());
    let mut salted = [0u8; 32];
    if openssl::pkcs5::pbkdf2_hmac(
        prepared.as_bytes(),
        &salt,
        iterations as usize,
        openssl::hash::MessageDigest::sha256(),
        &mut salted,
    )
    .is_err()
    {
        return false;
    }
    let client_key = match openssl::pkey::PKey::hmac(&salted).and_then(|k| {
        let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &k)?;
        s.update(b"Client Key")?;
        s.sign_to_vec()
    }) {
        Ok(k) => k,
        Err(_) => return false,
    };
    let computed = openssl::sha::sha256(&client_key);
    openssl::memcmp::eq(&computed, &stored)
}

#[cfg(test)]
mod tests {
    use super::scram_matches;

    #[test]
    fn verifiers_made_by_the_driver_match_their_password_only() {
        for pw in ["insp_east-password", "口令-密码-2026", "a b\u{00A0}c"] {
            let v = postgres_protocol::password::scram_sha_256(pw.as_bytes());
            assert!(scram_matches(&v, pw), "{pw}");
            assert!(!scram_matches(&v, &format!("{pw}x")));
            assert!(!scram_matches(&v, ""));
        }
        assert!(!scram_matches("md5abcdef", "x"));
        assert!(!scram_matches("SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB", "x"));
    }
}
