//! Typed webhook events, decoded leniently from the payload that was signed.

use std::fmt;

use actalink_types::{CheckoutSessionId, Metadata, TokenAmount};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::json::{Json, Kind, Members};

actalink_types::__open_enum! {
    /// The kind of event. The provider's pages show three names, each only
    /// in an example: two on its Billing webhook page and `onetime.executed`
    /// on its Actapay page; its list of event types is not visible. Every
    /// other name decodes as `Unknown` with its name.
    pub enum EventType {
        /// A subscription charge is due (guessed from the name: the
        /// Billing example shows no description).
        SubscriptionBillingDue => "subscription.billing.due",
        /// Subscription charges have been scheduled (guessed from the name,
        /// as above).
        SubscriptionBillingScheduled => "subscription.billing.scheduled",
        /// A one-time payment was executed (from the Actapay page's example;
        /// the meaning is guessed from the name).
        OnetimeExecuted => "onetime.executed",
    }
}

impl EventType {
    /// True for the event types this version of the SDK knows, false for
    /// [`EventType::Unknown`].
    #[must_use]
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }
}

/// A verified webhook event.
///
/// A genuinely signed body always gives an `Event`, whatever its shape: the
/// signature and the event's shape are separate verdicts. Every field is read
/// on its own and is `None` when it is absent, `null`, or in a shape whose
/// meaning is unclear; such a field is logged at `debug` level with its JSON
/// path (`eventData.data.token.amount`, say) and stays in [`Event::raw_json`].
/// Where the meaning is clear, a field in another shape than documented is
/// read: a number where a string was documented (`"id": 42` is the id `"42"`),
/// `token.amount` as a JSON integer of base units, `token.decimals` as the
/// string `"6"`.
///
/// [`Event::is_recognised`] says whether the body is an event this version
/// understands; [`Event::dedup_key`] gives a key to drop redeliveries by, with
/// or without an id.
///
/// `Serialize` writes the payload as it was signed, and `Deserialize` reads
/// one back, so events can be stored or queued and decoded again later.
/// Deserialising does not verify: only deserialise what you stored yourself.
/// It re-serialises, so it fails for a payload nested deeper than
/// [`Verifier::MAX_DEPTH`](crate::Verifier::MAX_DEPTH) (which verifies only
/// when received byte for byte as signed).
///
/// `Debug` shows the decoded fields and the payload's length, not the payload.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The event id (`id`; a number is read as its decimal text). `None`
    /// when absent, `null`, neither a string nor a number, or a string with a
    /// lone surrogate (which a Rust string cannot hold). Deduplicate with
    /// [`Event::dedup_key`], which also covers events without one.
    pub id: Option<String>,
    /// The kind of event (`eventType`; a number is read as its text). `None`
    /// when absent, `null`, or neither a string nor a number; a name this
    /// version does not know is `Some(EventType::Unknown(name))`.
    pub event_type: Option<EventType>,
    /// What the event is about (`eventData`); empty when the payload has none.
    pub data: EventData,
    raw: String,
}

/// What an event is about (`eventData.data`, and `eventData.metadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventData {
    /// The subject's id: `sub_…` for a subscription, `txn_…` for a transaction.
    pub id: Option<String>,
    /// The token paid and its amount; `None` unless `token` is an object.
    pub token: Option<Token>,
    /// The checkout session's metadata, from `eventData.data.metadata` or else
    /// `eventData.metadata` (where the provider puts it is undocumented).
    /// `None` unless it is an object; a value that is not a string is kept as
    /// its JSON text, and a lone surrogate in a key or value becomes U+FFFD.
    pub metadata: Option<Metadata>,
    /// The checkout session id, when the sender includes one as
    /// `eventData.data.checkoutSessionId` (the sandbox does): a string, or a
    /// number as its text. `None` when it is empty or holds whitespace or a
    /// control character, which no id does (see [`CheckoutSessionId::new`]).
    pub checkout_session_id: Option<CheckoutSessionId>,
}

/// A token and an amount of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Token {
    /// Its name (`USD Coin`).
    pub name: Option<String>,
    /// Its symbol (`USDC`).
    pub symbol: Option<String>,
    /// Its contract address (compare case-insensitively).
    pub address: Option<String>,
    /// The amount in base units: the documented hex string as sent (decoded
    /// by [`TokenAmount::base_units`]), or a non-negative JSON integer below
    /// 2^128, read exactly from the signed text (JavaScript's shortest form of
    /// the number: `1e+21` is 10^21).
    pub amount: Option<TokenAmount>,
    /// Its decimals, when the payload says (a number, or a string of digits).
    pub decimals: Option<u32>,
}

impl Token {
    /// The amount in whole tokens, using the payload's decimals or else
    /// `default_decimals` (6 for USDC).
    ///
    /// # Errors
    ///
    /// `None` when there is no amount; a decode error when it is malformed.
    pub fn decimal(
        &self,
        default_decimals: u32,
    ) -> Option<Result<actalink_types::Decimal, actalink_types::Error>> {
        let amount = self.amount.as_ref()?;
        Some(amount.decimal(self.decimals.unwrap_or(default_decimals)))
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("data", &self.data)
            .field("raw_bytes", &self.raw.len())
            .finish()
    }
}

/// Logs a field that is present but unreadable; it stays in the raw JSON.
fn unreadable(path: &str, value: Json<'_>) {
    tracing::debug!(
        path,
        found = value.kind().described(),
        "webhook field not readable as documented; it is left to the raw JSON"
    );
}

/// Reads the member value just handed out by `members`: `None`, silently,
/// when it is null; `None`, logged, when `read` cannot make sense of it. A
/// value that was read is reported consumed, so the walk does not skip it again.
fn take<'a, T>(
    members: &mut Members<'a>,
    path: &str,
    value: Json<'a>,
    read: impl FnOnce(Json<'a>) -> Option<(T, usize)>,
) -> Option<T> {
    if value.kind() == Kind::Null {
        return None;
    }
    match read(value) {
        Some((read, len)) => {
            members.consumed(len);
            Some(read)
        }
        None => {
            unreadable(path, value);
            None
        }
    }
}

/// A string, or a number as its JSON text.
fn text(value: Json<'_>) -> Option<(String, usize)> {
    match value.kind() {
        Kind::String => value.string(),
        Kind::Number => value.text().map(|t| (t.to_owned(), t.len())),
        _ => None,
    }
}

/// A checkout session id: [`text`] that is a valid id.
fn session_id(value: Json<'_>) -> Option<(CheckoutSessionId, usize)> {
    let (id, len) = text(value)?;
    Some((CheckoutSessionId::new(id).ok()?, len))
}

/// The non-negative integer a JSON number's text spells, below 2^128; `None`
/// for fractions and negative numbers. The text is JavaScript's shortest form
/// of the number that was signed (`150000`, `8232298528816141000`, `1.5e+25`),
/// and the integer is read from those digits exactly, never through `f64`.
fn whole_number(text: &str) -> Option<u128> {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e).parse::<usize>().ok()?),
        None => (text, 0),
    };
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(fraction) {
        return None;
    }
    // The exponent moves that many fraction digits left of the point; any
    // digits still right of it must be zeros.
    let (moved, rest) = fraction.split_at(fraction.len().min(exponent));
    if !rest.bytes().all(|b| b == b'0') {
        return None;
    }
    let zeros = exponent - moved.len();
    if int.len() + moved.len() + zeros > 40 {
        return None; // Beyond u128 (39 digits).
    }
    format!("{int}{moved}{}", "0".repeat(zeros)).parse().ok()
}

fn amount(value: Json<'_>) -> Option<(TokenAmount, usize)> {
    match value.kind() {
        Kind::String => value
            .string()
            .map(|(s, len)| (TokenAmount::from_raw(s), len)),
        Kind::Number => {
            let text = value.text()?;
            Some((
                TokenAmount::from_base_units(whole_number(text)?),
                text.len(),
            ))
        }
        _ => None,
    }
}

fn decimals(value: Json<'_>) -> Option<(u32, usize)> {
    let (digits, len) = match value.kind() {
        Kind::String => value.string()?,
        Kind::Number => text(value)?,
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, len))
}

/// Reads an object's members into a `T` with `field`, one member at a time,
/// and gives the object's length; `None` unless `value` is an object.
fn object<'a, T: Default>(
    value: Json<'a>,
    mut field: impl FnMut(&mut T, &mut Members<'a>, &str, Json<'a>),
) -> Option<(T, usize)> {
    let mut members = value.members()?;
    let mut read = T::default();
    while let Some((key, value)) = members.next() {
        field(&mut read, &mut members, key, value);
    }
    Some((read, members.len()?))
}

fn token(value: Json<'_>) -> Option<(Token, usize)> {
    object(value, |token: &mut Token, m, key, value| match key {
        "name" => token.name = take(m, "eventData.data.token.name", value, text),
        "symbol" => token.symbol = take(m, "eventData.data.token.symbol", value, text),
        "address" => token.address = take(m, "eventData.data.token.address", value, text),
        "amount" => token.amount = take(m, "eventData.data.token.amount", value, amount),
        "decimals" => token.decimals = take(m, "eventData.data.token.decimals", value, decimals),
        _ => {}
    })
}

/// Metadata as `actalink_types::Metadata` reads it from the API: string
/// values as they are, other values as their JSON text.
fn metadata(value: Json<'_>) -> Option<(Metadata, usize)> {
    use serde::Deserialize as _;
    use serde::de::value::{Error as ValueError, MapDeserializer};

    let mut members = value.members()?;
    let pairs = std::iter::from_fn(|| {
        let (key, value) = members.next()?;
        let (value, len) = match value.kind() {
            Kind::String => value.string_lossy()?,
            _ => value.text().map(|t| (t.to_owned(), t.len()))?,
        };
        members.consumed(len);
        Some((quoted(key), value))
    });
    let metadata = Metadata::deserialize(MapDeserializer::<_, ValueError>::new(pairs)).ok()?;
    Some((metadata, members.len()?))
}

/// A key's value from its escaped text.
fn quoted(escaped: &str) -> String {
    if !escaped.contains('\\') {
        return escaped.to_owned();
    }
    Json::new(&format!("\"{escaped}\""))
        .string_lossy()
        .map_or_else(|| escaped.to_owned(), |(key, _)| key)
}

/// `eventData.data`, without the outer metadata.
fn subject(value: Json<'_>) -> Option<(EventData, usize)> {
    object(value, |data: &mut EventData, m, key, value| match key {
        "id" => data.id = take(m, "eventData.data.id", value, text),
        "token" => data.token = take(m, "eventData.data.token", value, token),
        "metadata" => data.metadata = take(m, "eventData.data.metadata", value, metadata),
        "checkoutSessionId" => {
            data.checkout_session_id =
                take(m, "eventData.data.checkoutSessionId", value, session_id);
        }
        _ => {}
    })
}

/// `eventData`: its `data`, with the outer `metadata` when `data` has none.
fn event_data(value: Json<'_>) -> Option<(EventData, usize)> {
    let ((data, outer_metadata), len) = object(
        value,
        |(data, outer): &mut (Option<EventData>, Option<Metadata>), m, key, value| match key {
            "data" => *data = take(m, "eventData.data", value, subject),
            "metadata" => *outer = take(m, "eventData.metadata", value, metadata),
            _ => {}
        },
    )?;
    let mut data = data.unwrap_or_default();
    if data.metadata.is_none() {
        data.metadata = outer_metadata;
    }
    Some((data, len))
}

impl Event {
    /// Decodes the JSON text that was verified. Never fails: what cannot be
    /// read is `None` and stays in the raw text.
    pub(crate) fn from_canonical(raw: String) -> Self {
        let (mut id, mut event_type, mut data) = (None, None, EventData::default());
        let root = Json::new(&raw);
        match root.members() {
            Some(mut members) => {
                while let Some((key, value)) = members.next() {
                    let m = &mut members;
                    match key {
                        "id" => id = take(m, "id", value, text),
                        "eventType" => {
                            event_type =
                                take(m, "eventType", value, text).map(|t| EventType::from_wire(&t));
                        }
                        "eventData" => {
                            data = take(m, "eventData", value, event_data).unwrap_or_default();
                        }
                        _ => {}
                    }
                }
            }
            None => unreadable("$", root),
        }
        Self {
            id,
            event_type,
            data,
            raw,
        }
    }

    /// Decodes an event without verifying it. Only for payloads whose origin
    /// you have checked some other way (for example, read back from your own
    /// database); use a [`Verifier`](crate::Verifier) for anything from the network.
    ///
    /// Any JSON gives an event; see [`Event::is_recognised`].
    ///
    /// # Errors
    ///
    /// As [`canonicalize`](crate::canonicalize): [`Error::BodyNotJson`], or
    /// [`Error::TooDeep`] beyond [`Verifier::MAX_DEPTH`](crate::Verifier::MAX_DEPTH)
    /// levels of nesting.
    pub fn parse_unverified(body: &[u8]) -> Result<Self, Error> {
        Ok(Self::from_canonical(crate::canonicalize(body)?))
    }

    /// Whether this is an event this version of the SDK understands: it has
    /// a non-empty `id` and an `eventType` this version knows
    /// ([`EventType::is_known`]).
    ///
    /// An unrecognised event is still genuine when it came from
    /// [`Verifier::verify`](crate::Verifier::verify): answer it with 2xx (so
    /// the provider does not retry it forever), and log or store
    /// [`Event::raw_json`] to look at.
    #[must_use]
    pub fn is_recognised(&self) -> bool {
        self.id.as_deref().is_some_and(|id| !id.is_empty())
            && self.event_type.as_ref().is_some_and(EventType::is_known)
    }

    /// A key to drop redeliveries by: the event id when it has a non-empty
    /// one; otherwise `sha256:` and the lowercase hex SHA-256 of
    /// [`Event::raw_json`], the payload as signed.
    ///
    /// How the provider redelivers is not documented. If a redelivery keeps
    /// the event id (or, for an event without one, the payload; only the
    /// timestamp and signature would change), it has the same key; if it
    /// does not, no key derived from the event can tell it from a new one,
    /// so confirm with the session's status before acting twice. Two events
    /// with identical signed content have the same key, which is the point. Keys derived from content start with `sha256:`; no
    /// documented id does. Hashing costs one pass over the payload per call.
    #[must_use]
    pub fn dedup_key(&self) -> String {
        match self.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(self.raw.as_bytes()))
            ),
        }
    }

    /// The whole payload as the JSON text that was signed (the JavaScript
    /// re-serialisation of the body).
    #[must_use]
    pub fn raw_json(&self) -> &str {
        &self.raw
    }

    /// The whole payload as a `serde_json::Value`, for fields this crate does not model.
    ///
    /// # Errors
    ///
    /// For payloads `serde_json` cannot hold: with lone surrogates, or nested
    /// deeper than 128 levels.
    pub fn raw(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.raw)
    }

    /// A metadata value, wherever the payload carried the metadata.
    #[must_use]
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.data.metadata.as_ref()?.get(key)
    }
}

impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Verbatim, so that key order and number spelling stay as signed.
        let raw = serde_json::value::RawValue::from_string(self.raw.clone())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Self::parse_unverified(raw.get().as_bytes()).map_err(serde::de::Error::custom)
    }
}
