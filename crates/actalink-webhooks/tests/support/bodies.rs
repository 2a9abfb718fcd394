//! Body builders shared by the bounded-work tests and the `hostile_memory`
//! example, so that the figures published and the limits tested are about
//! the same bodies.

/// `prefix item sep item sep … suffix`, as long as fits in `size` bytes.
pub(crate) fn repeat_to(size: usize, prefix: &str, item: &str, sep: &str, suffix: &str) -> Vec<u8> {
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

/// Base-62 text of `i`, at least `width` characters.
pub(crate) fn short_key(mut i: usize, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::new();
    while i > 0 || s.len() < width {
        s.push(char::from(DIGITS[i % 62]));
        i /= 62;
    }
    s
}
