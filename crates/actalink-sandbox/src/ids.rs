//! Ids in the provider's format: a prefix, `_`, 32 alphanumerics.

pub(crate) fn new_id(prefix: &str) -> String {
    // `prefix` is one of the sandbox's own short literals: no overflow.
    let mut id = String::with_capacity(prefix.len() + 33);
    id.push_str(prefix);
    id.push('_');
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(32));
    id
}

/// A new id of a typed kind (`CheckoutSessionId`, `OrderId`); `None` never
/// happens in practice (the id is a prefix and alphanumerics, which every id
/// type accepts), but is the caller's to answer rather than a panic.
pub(crate) fn typed<T: TryFrom<String>>(prefix: &str) -> Option<T> {
    T::try_from(new_id(prefix)).ok()
}

/// A random 20-byte EVM address, lowercase hex.
pub(crate) fn address() -> String {
    let mut a = String::from("0x");
    a.extend(
        std::iter::repeat_with(|| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
            .take(40),
    );
    a
}

/// A random 32-byte transaction hash.
pub(crate) fn tx_hash() -> String {
    let mut h = String::from("0x");
    h.extend(
        std::iter::repeat_with(|| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
            .take(64),
    );
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_documented_shape() {
        let id = super::new_id("checkout");
        assert_eq!(id.len(), "checkout_".len() + 32);
        assert!(
            id["checkout_".len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_eq!(super::address().len(), 42);
        assert_eq!(super::tx_hash().len(), 66);
    }
}
