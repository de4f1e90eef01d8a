//! The HTTPS listeners' certificate: self-signed, made with OpenSSL when
//! an endpoint starts, as `winrm quickconfig -transport:https` users make
//! one (clients are told not to check it: `server_cert_validation=ignore`,
//! `winrm_insecure`).

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};

/// A TLS acceptor with a fresh self-signed certificate for `hostname`
/// (and 127.0.0.1).
///
/// Fails when OpenSSL cannot make the key or the certificate (it is
/// missing an algorithm, or out of memory).
pub fn acceptor(hostname: &str) -> std::io::Result<SslAcceptor> {
    make(hostname).map_err(std::io::Error::other)
}

fn make(hostname: &str) -> Result<SslAcceptor, openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, hostname)?;
    let name = name.build();
    let mut cert = X509::builder()?;
    cert.set_version(2)?;
    let serial = BigNum::from_u32(rand_serial())?.to_asn1_integer()?;
    cert.set_serial_number(&serial)?;
    cert.set_subject_name(&name)?;
    cert.set_issuer_name(&name)?;
    cert.set_pubkey(&key)?;
    cert.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    cert.set_not_after(Asn1Time::days_from_now(365)?.as_ref())?;
    let san = SubjectAlternativeName::new().dns(hostname).ip("127.0.0.1").build(&cert.x509v3_context(None, None))?;
    cert.append_extension(san)?;
    cert.sign(&key, MessageDigest::sha256())?;
    let cert = cert.build();
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    builder.set_private_key(&key)?;
    builder.set_certificate(&cert)?;
    builder.check_private_key()?;
    Ok(builder.build())
}

fn rand_serial() -> u32 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u32::from_be_bytes([bytes[0] & 0x7f, bytes[1], bytes[2], bytes[3]])
}
