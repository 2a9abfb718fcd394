//! Builders of large request bodies, shared by `actalink-webhooks`'
//! bounded-work tests and its `hostile_memory` example, so that the figures
//! published and the limits tested are about the same bodies.

/// `prefix item sep item sep … suffix`, with as many items as fit in `size`
/// bytes (at least one item only when it fits).
#[must_use]
pub fn repeat_to(size: usize, prefix: &str, item: &str, sep: &str, suffix: &str) -> Vec<u8> {
    let mut s = String::with_capacity(size);
    s.push_str(prefix);
    let mut first = true;
    while s.len() + sep.len() + item.len() + suffix.len() <= size {
        if !first {
            s.push_str(sep);
        }
        first = false;
        s.push_str(item);
    }
    s.push_str(suffix);
    s.into_bytes()
}

/// Base-62 text of `i` (least significant digit first), at least `width`
/// characters: distinct `i` give distinct keys.
#[must_use]
pub fn short_key(mut i: usize, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::new();
    while i > 0 || s.len() < width {
        s.push(char::from(DIGITS[i % 62]));
        i /= 62;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_to_fills_up_to_the_size() {
        assert_eq!(repeat_to(9, "[", "0", ",", "]"), b"[0,0,0,0]");
        assert_eq!(repeat_to(10, "[", "0", ",", "]"), b"[0,0,0,0]");
        assert_eq!(repeat_to(2, "[", "0", ",", "]"), b"[]");
        let big = repeat_to(1 << 20, "{", "\"a\":0", ",", "}");
        assert!(big.len() <= 1 << 20 && big.len() > (1 << 20) - 6);
    }

    #[test]
    fn short_keys_are_distinct_and_padded() {
        assert_eq!(short_key(0, 1), "0");
        assert_eq!(short_key(0, 4), "0000");
        assert_eq!(short_key(61, 1), "Z");
        assert_eq!(short_key(62, 1), "01");
        let keys: std::collections::HashSet<String> =
            (0..10_000).map(|i| short_key(i, 4)).collect();
        assert_eq!(keys.len(), 10_000);
    }
}
