//! Certificates presented by probed TLS servers: the small DER reader behind the certificate
//! metrics must reject malformed input without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = probe::x509::parse_certificate(data) {
        assert!(cert.subject_der.len() <= data.len());
        assert!(cert.issuer_der.len() <= data.len());
    }
    let _ = probe::x509::name_to_string(data);
});
