//! Key material the simulated cloud hands out: RSA key pairs in the forms
//! Alibaba Cloud returns (PEM private key, OpenSSH public key, MD5
//! fingerprint).

use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::rsa::Rsa;

/// A generated key pair.
pub struct Generated {
    /// `-----BEGIN RSA PRIVATE KEY-----…`.
    pub private_pem: String,
    /// `ssh-rsa AAAA…`.
    pub public_openssh: String,
    /// MD5 of the public key blob, `aa:bb:…`.
    pub fingerprint: String,
}

/// A new 2048-bit RSA key pair.
pub fn generate_rsa() -> Result<Generated, openssl::error::ErrorStack> {
    let rsa = Rsa::generate(2048)?;
    let private_pem = String::from_utf8(rsa.private_key_to_pem()?).expect("PEM is ASCII");
    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-rsa");
    put_mpint(&mut blob, &rsa.e().to_vec());
    put_mpint(&mut blob, &rsa.n().to_vec());
    let public_openssh = format!("ssh-rsa {}", base64::engine::general_purpose::STANDARD.encode(&blob));
    let fingerprint = md5_fingerprint(&blob)?;
    Ok(Generated { private_pem, public_openssh, fingerprint })
}

/// The fingerprint of an OpenSSH public key line, if it is one.
pub fn openssh_fingerprint(line: &str) -> Option<String> {
    let blob = openssh_blob(line)?;
    md5_fingerprint(&blob).ok()
}

/// The decoded key blob of an OpenSSH public key line (`type base64 [comment]`).
pub fn openssh_blob(line: &str) -> Option<Vec<u8>> {
    let mut parts = line.split_whitespace();
    let kind = parts.next()?;
    let blob = base64::engine::general_purpose::STANDARD.decode(parts.next()?).ok()?;
    // The blob starts with its own type name.
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    (blob.get(4..4 + len)? == kind.as_bytes()).then_some(blob)
}

fn md5_fingerprint(blob: &[u8]) -> Result<String, openssl::error::ErrorStack> {
    let digest = openssl::hash::hash(MessageDigest::md5(), blob)?;
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    // A positive mpint whose top bit is set needs a leading zero byte.
    if magnitude.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = vec![0];
        padded.extend_from_slice(magnitude);
        put_string(out, &padded);
    } else {
        put_string(out, magnitude);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_public_key_parses_as_openssh() {
        let key = generate_rsa().unwrap();
        assert!(key.private_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(openssh_fingerprint(&key.public_openssh).as_deref(), Some(key.fingerprint.as_str()));
        assert_eq!(key.fingerprint.len(), 47);
    }
}
