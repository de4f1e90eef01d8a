//! Alibaba Cloud's RPC APIs.
//!
//! - `signature.rs`: canonical query, string to sign, HMAC-SHA1 signature
//!   version 1.0, and its verification.

pub mod signature;
