//! The session decoder on arbitrary bytes: decoding a response must return a
//! session or an error, never panic; a session that decodes must re-encode and
//! decode to itself.

#![no_main]

use actalink_types::CheckoutSession;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(session) = serde_json::from_slice::<CheckoutSession>(data) {
        let json = serde_json::to_vec(&session).expect("a decoded session encodes");
        let again: CheckoutSession = serde_json::from_slice(&json).expect("an encoded session decodes");
        assert_eq!(again, session);
        let _ = session.is_paid();
        for product in &session.products {
            if let Some(details) = &product.price_details {
                let _ = details.decimal();
            }
        }
    }
});
