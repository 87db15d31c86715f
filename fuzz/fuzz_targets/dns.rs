//! DNS responses from the network (the blackbox-compatible DNS prober): the parser must turn any
//! bytes into a message or an error without panicking or looping (compression pointers), and
//! what it accepts must be consistent with its header and printable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe::dns::wire::{MAX_NAME_LEN, parse_message, read_name};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = parse_message(data) {
        assert_eq!(msg.questions.len(), usize::from(msg.header.qdcount));
        assert_eq!(msg.answers.len(), usize::from(msg.header.ancount));
        assert_eq!(msg.authority.len(), usize::from(msg.header.nscount));
        assert_eq!(msg.additional.len(), usize::from(msg.header.arcount));
        for rr in msg.answers.iter().chain(&msg.authority).chain(&msg.additional) {
            let text = rr.to_string();
            assert!(text.starts_with(&rr.name));
        }
    }
    // Names at every offset: pointers may lead anywhere, including into loops.
    for pos in 0..data.len().min(64) {
        if let Ok((name, next)) = read_name(data, pos) {
            assert!(next > pos && next <= data.len());
            // Each wire byte becomes at most four characters (`\DDD`).
            assert!(name.len() <= MAX_NAME_LEN * 4 + 1);
        }
    }
});
