//! A client for the simulator's admin API (`/__kiln/...` on the address of
//! `kiln sim serve`): what it holds, whom it let in, what it counted.

use std::io::{Read, Write};

/// `GET path` from the simulator's admin API at `address`, as JSON.
///
/// Panics when the server cannot be reached or the body is not JSON.
pub fn get(address: &str, path: &str) -> serde_json::Value {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("admin {path}: {e}: {response}"))
}

/// `POST path` with a JSON `body` to the simulator's admin API at
/// `address`: the status and the JSON answer.
///
/// Panics when the server cannot be reached or the answer is not JSON.
pub fn post(address: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let answer = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(answer).unwrap_or_else(|e| panic!("admin {path}: {e}: {response}")))
}
