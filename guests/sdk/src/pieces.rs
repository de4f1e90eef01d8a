//! Texts that contain secrets the guest cannot read (an access key id, a
//! token, a password, user data from a sensitive variable): a list of
//! plain parts and secret parts, which the host assembles — writing each
//! secret with the encodings asked for (base64, percent) — to sign it ([`crate::secrets::hmac_pieces`]) or send it as a body
//! ([`crate::http::Request::body_pieces`]).
//!
//! A signed text often holds an encoded query encoded once more; since
//! [`crate::percent::encode`] works byte by byte, [`Pieces::percent_encoded`]
//! encodes the plain parts here and asks the host to encode each secret
//! once more, which gives the text the cloud computes.

use crate::percent;
use crate::secrets::{Encoding, Piece, Secret, SecretPiece};

/// A request value: plain text, or a secret only the host reads.
///
/// ```no_run
/// use kiln_guest::pieces::Value;
///
/// # fn token() -> &'static kiln_guest::secrets::Secret { unimplemented!() }
/// let values = [Value::Text("DescribeImages".into()), Value::Secret(token())];
/// ```
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Sent as given.
    Text(String),
    /// Written by the host.
    Secret(&'a Secret),
    /// Written by the host in base64 (standard alphabet, padded): a value
    /// the API wants encoded, such as Alibaba Cloud's `UserData`.
    Base64Secret(&'a Secret),
}

/// One part of a text being assembled.
#[derive(Debug)]
enum Part<'a> {
    Text(String),
    /// A secret the host writes with these encodings, in order.
    Secret(&'a Secret, Vec<Encoding>),
}

/// A text made of plain and secret parts.
///
/// ```rust
/// use kiln_guest::pieces::{Pieces, Value};
///
/// let mut query = Pieces::new();
/// query.text("Action=");
/// query.encoded(&Value::Text("Describe Images".into()));
/// assert_eq!(query.plain_text().as_deref(), Some("Action=Describe%20Images"));
/// let mut signed = Pieces::new();
/// signed.text("POST&%2F&");
/// signed.append(query.percent_encoded());
/// assert_eq!(signed.plain_text().as_deref(), Some("POST&%2F&Action%3DDescribe%2520Images"));
/// ```
#[derive(Debug, Default)]
pub struct Pieces<'a> {
    parts: Vec<Part<'a>>,
}

impl<'a> Pieces<'a> {
    /// An empty text.
    ///
    /// ```rust
    /// assert!(kiln_guest::pieces::Pieces::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Pieces { parts: Vec::new() }
    }

    /// Whether nothing was added.
    ///
    /// ```rust
    /// let mut text = kiln_guest::pieces::Pieces::new();
    /// text.text("a");
    /// assert!(!text.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Adds plain text as it is.
    ///
    /// ```rust
    /// let mut text = kiln_guest::pieces::Pieces::new();
    /// text.text("GET&").text("%2F");
    /// assert_eq!(text.plain_text().as_deref(), Some("GET&%2F"));
    /// ```
    pub fn text(&mut self, text: impl Into<String>) -> &mut Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    /// Adds a secret that the host writes as it is.
    ///
    /// ```no_run
    /// # let password: &kiln_guest::secrets::Secret = unimplemented!();
    /// let mut body = kiln_guest::pieces::Pieces::new();
    /// body.text("Password=").secret(password);
    /// ```
    pub fn secret(&mut self, secret: &'a Secret) -> &mut Self {
        self.parts.push(Part::Secret(secret, Vec::new()));
        self
    }

    /// Adds `value` percent-encoded once: a text encoded here, a secret by
    /// the host (a [`Value::Base64Secret`] base64-encoded first).
    ///
    /// ```rust
    /// use kiln_guest::pieces::{Pieces, Value};
    ///
    /// let mut query = Pieces::new();
    /// query.text("Name=").encoded(&Value::Text("a b".into()));
    /// assert_eq!(query.plain_text().as_deref(), Some("Name=a%20b"));
    /// ```
    pub fn encoded(&mut self, value: &Value<'a>) -> &mut Self {
        self.parts.push(match value {
            Value::Text(text) => Part::Text(percent::encode(text)),
            Value::Secret(secret) => Part::Secret(secret, vec![Encoding::Percent]),
            Value::Base64Secret(secret) => Part::Secret(secret, vec![Encoding::Base64, Encoding::Percent]),
        });
        self
    }

    /// Adds every part of `other`, in order.
    ///
    /// ```rust
    /// use kiln_guest::pieces::Pieces;
    ///
    /// let mut a = Pieces::new();
    /// a.text("x=");
    /// let mut b = Pieces::new();
    /// b.text("1");
    /// a.append(b);
    /// assert_eq!(a.plain_text().as_deref(), Some("x=1"));
    /// ```
    pub fn append(&mut self, other: Pieces<'a>) -> &mut Self {
        self.parts.extend(other.parts);
        self
    }

    /// The same text percent-encoded once more.
    ///
    /// ```rust
    /// let mut query = kiln_guest::pieces::Pieces::new();
    /// query.text("a=b&c=d");
    /// assert_eq!(query.percent_encoded().plain_text().as_deref(), Some("a%3Db%26c%3Dd"));
    /// ```
    pub fn percent_encoded(&self) -> Pieces<'a> {
        let parts = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => Part::Text(percent::encode(text)),
                Part::Secret(secret, encodings) => {
                    Part::Secret(secret, encodings.iter().copied().chain([Encoding::Percent]).collect())
                }
            })
            .collect();
        Pieces { parts }
    }

    /// The text, when it holds no secret (for tests and diagnostics).
    ///
    /// ```no_run
    /// # let token: &kiln_guest::secrets::Secret = unimplemented!();
    /// let mut text = kiln_guest::pieces::Pieces::new();
    /// text.text("Token=").secret(token);
    /// assert_eq!(text.plain_text(), None);
    /// ```
    pub fn plain_text(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => Some(text.as_str()),
                Part::Secret(..) => None,
            })
            .collect()
    }

    /// The host's pieces, adjacent plain parts merged into one.
    ///
    /// ```rust
    /// use kiln_guest::pieces::Pieces;
    /// use kiln_guest::secrets::Piece;
    ///
    /// let mut text = Pieces::new();
    /// text.text("a=").text("1");
    /// assert!(matches!(&text.into_pieces()[..], [Piece::Text(t)] if t == "a=1"));
    /// ```
    pub fn into_pieces(self) -> Vec<Piece<'a>> {
        let mut pieces: Vec<Piece<'a>> = Vec::new();
        for part in self.parts {
            match part {
                Part::Text(text) => match pieces.last_mut() {
                    Some(Piece::Text(previous)) => previous.push_str(&text),
                    _ => pieces.push(Piece::Text(text)),
                },
                Part::Secret(secret, encodings) => pieces.push(Piece::Secret(SecretPiece { value: secret, encodings })),
            }
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::ManuallyDrop;

    /// A handle that is never used: dropping a secret would call the host.
    fn fake_secret() -> ManuallyDrop<Secret> {
        // SAFETY: the handle is only carried in a piece, never passed to
        // the host, and never dropped.
        ManuallyDrop::new(unsafe { Secret::from_handle(7) })
    }

    fn shape(pieces: &[Piece<'_>]) -> Vec<String> {
        pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Secret(secret) => {
                    let names: Vec<&str> = secret
                        .encodings
                        .iter()
                        .map(|e| match e {
                            Encoding::Percent => "Percent",
                            Encoding::Base64 => "Base64",
                        })
                        .collect();
                    format!("<secret [{}]>", names.join(", "))
                }
            })
            .collect()
    }

    #[test]
    fn plain_parts_merge_and_secrets_keep_their_encodings() {
        let secret = fake_secret();
        let mut text = Pieces::new();
        text.text("a=");
        text.encoded(&Value::Secret(&secret));
        text.text("&b=");
        text.encoded(&Value::Text("x y".into()));
        text.text("&c=");
        text.secret(&secret);
        assert_eq!(text.plain_text(), None);
        assert_eq!(
            shape(&text.percent_encoded().into_pieces()),
            ["a%3D", "<secret [Percent, Percent]>", "%26b%3Dx%2520y%26c%3D", "<secret [Percent]>"]
        );
        assert_eq!(shape(&text.into_pieces()), ["a=", "<secret [Percent]>", "&b=x%20y&c=", "<secret []>"]);
    }

    #[test]
    fn a_base64_secret_is_encoded_before_its_percent_encodings() {
        let secret = fake_secret();
        let mut text = Pieces::new();
        text.text("UserData=").encoded(&Value::Base64Secret(&secret));
        assert_eq!(
            shape(&text.percent_encoded().into_pieces()),
            ["UserData%3D", "<secret [Base64, Percent, Percent]>"]
        );
        assert_eq!(shape(&text.into_pieces()), ["UserData=", "<secret [Base64, Percent]>"]);
    }

    #[test]
    fn a_plain_text_reads_back() {
        let mut text = Pieces::new();
        assert!(text.is_empty());
        text.text("k=").encoded(&Value::Text("v/w".into()));
        assert_eq!(text.plain_text().as_deref(), Some("k=v%2Fw"));
        assert_eq!(shape(&text.into_pieces()), ["k=v%2Fw"]);
    }
}
