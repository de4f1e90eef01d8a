//! Bytes as an SFTP server could send them down the channel, through the
//! reply decoder of kiln's SFTP client (framing, VERSION, STATUS, HANDLE,
//! DATA, NAME, ATTRS): it never panics, and never allocates more than the
//! input justifies (a NAME count or a length beyond the packet).
//!
//! Input: a stream of length-prefixed packets; seeds in
//! `corpus/sftp_packets/`, each decoding at least one reply (a unit test
//! checks that).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kiln::caps::comm::ssh::decode_replies(data);
});
