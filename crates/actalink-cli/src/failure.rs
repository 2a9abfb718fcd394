//! How a command fails: the exit status, and the one sentence or JSON object on stderr.
//!
//! Without `--json` a failure is one line, `error: …`, escaped for the
//! terminal. With `--json` it is one JSON object,
//! `{"error": {"kind", "message", "status", "requestId"}}`, where `kind` is
//! one of the stable snake_case names below and `status` and `requestId` are
//! `null` when no response carried them.

use std::process::ExitCode;

use serde::Serialize;

use crate::output;

/// A failure: which exit status, and what to say.
#[derive(Debug)]
pub(crate) struct Failure {
    /// 1: the operation failed; 2: bad usage or invalid input, caught before any request.
    exit: u8,
    /// A stable snake_case name for scripts.
    kind: &'static str,
    /// One sentence.
    message: String,
    /// The HTTP status of the response that refused the request, if one did.
    status: Option<u16>,
    /// The request id a response header carried, if any.
    request_id: Option<String>,
}

/// What a command returns.
pub(crate) type Outcome = Result<(), Failure>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonError<'a> {
    kind: &'static str,
    message: &'a str,
    status: Option<u16>,
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    error: JsonError<'a>,
}

impl Failure {
    /// Invalid input, caught before any request (exit 2, kind `invalid_input`).
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::new(2, "invalid_input", message)
    }

    /// Missing or unusable configuration: a key, a secret, a URL (exit 2, kind `config`).
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(2, "config", message)
    }

    /// A command line clap refused (exit 2, kind `usage`).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(2, "usage", message)
    }

    /// The operation failed (exit 1), with a kind for scripts.
    pub(crate) fn failed(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(1, kind, message)
    }

    /// A request that got no answer: kind `timeout` or `transport`.
    pub(crate) fn unreached(error: &actalink_transport::Error, message: impl Into<String>) -> Self {
        let kind = if error.is_timeout() {
            "timeout"
        } else {
            "transport"
        };
        Self::failed(kind, message)
    }

    fn new(exit: u8, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit,
            kind,
            message: message.into(),
            status: None,
            request_id: None,
        }
    }

    /// The HTTP status of the response behind this failure.
    #[must_use]
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// An SDK error from a request to `target` (the API's origin, without
    /// credentials), which the message names.
    pub(crate) fn api(error: &actalink_checkout::Error, target: &str) -> Self {
        let kind = kind_of(error);
        let text = cli_words(&error.to_string());
        // Caught before any request: nothing went anywhere.
        let before_sending = matches!(kind, "config" | "invalid_input" | "encode");
        // Connect errors already name host:port; say it once.
        let host = output::host_port(target);
        let named = text.contains(target) || host.as_deref().is_some_and(|h| text.contains(h));
        let message = if before_sending || named {
            text
        } else {
            format!("{text} (request to {target})")
        };
        let exit = if before_sending { 2 } else { 1 };
        Self {
            exit,
            kind,
            message,
            status: error.status().map(|s| s.as_u16()),
            request_id: error.request_id().map(str::to_owned),
        }
    }

    /// The one-line message (for tests and for wrapping).
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The kind (for tests).
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }

    /// The exit status (for tests).
    #[cfg(test)]
    pub(crate) fn exit(&self) -> u8 {
        self.exit
    }

    /// The JSON object printed with `--json`.
    pub(crate) fn to_json(&self) -> String {
        let failure = JsonFailure {
            error: JsonError {
                kind: self.kind,
                message: &self.message,
                status: self.status,
                request_id: self.request_id.as_deref(),
            },
        };
        serde_json::to_string(&failure).unwrap_or_else(|_| {
            // Serialising strings and numbers cannot fail; keep a valid object anyway.
            format!(
                "{{\"error\":{{\"kind\":\"{}\",\"message\":null,\"status\":null,\"requestId\":null}}}}",
                self.kind
            )
        })
    }

    /// Prints the failure on stderr and gives the exit status.
    pub(crate) fn report(&self, json: bool) -> ExitCode {
        if json {
            errln!("{}", self.to_json());
        } else {
            // Messages may quote the server (an error body) or a webhook
            // handler: escaped, so that no control sequence reaches the terminal.
            errln!("error: {}", output::escape(&self.message));
        }
        ExitCode::from(self.exit)
    }
}

/// The SDK's and the API's words for things the command line names
/// otherwise, and what to do instead of a Rust call.
const CLI_WORDS: &[(&str, &str)] = &[
    // No flag of the command line turns the clear-text check off.
    (" (or allow_insecure_http() on a trusted network)", ""),
    ("successUrl ", "--success-url "),
    ("cancelUrl ", "--cancel-url "),
    ("failureUrl ", "--failure-url "),
    ("paylinkId ", "--paylink "),
];

/// `message` in the command line's words: flags instead of JSON field names,
/// no Rust method names (CLI advice, not API advice).
pub(crate) fn cli_words(message: &str) -> String {
    let mut text = message.to_owned();
    for (sdk, cli) in CLI_WORDS {
        if text.contains(sdk) {
            text = text.replace(sdk, cli);
        }
    }
    text
}

/// The stable name of an SDK error's kind.
fn kind_of(error: &actalink_checkout::Error) -> &'static str {
    use actalink_checkout::Error;
    match error {
        Error::InvalidRequest(_) => "invalid_input",
        Error::Encode(_) => "encode",
        Error::Config { .. } => "config",
        Error::Unauthorized(_) => "unauthorized",
        Error::NotFound(_) => "not_found",
        Error::RateLimited { .. } => "rate_limited",
        Error::Server(_) => "server_error",
        Error::Api(_) => "api_error",
        Error::Transport { .. } => "transport",
        Error::Timeout { .. } => "timeout",
        Error::Decode { .. } => "decode",
        Error::WaitTimedOut { .. } => "wait_timed_out",
        // A variant added later that wraps another error (the enum is
        // non-exhaustive): the kind of what it wraps.
        other => std::error::Error::source(other)
            .and_then(|source| source.downcast_ref::<Error>())
            .map_or("api_error", kind_of),
    }
}

/// The stable name for a refusal by HTTP status, for answers that are not the
/// SDK's (the sandbox's control API).
pub(crate) fn kind_of_status(status: u16) -> &'static str {
    match status {
        401 | 403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        429 => "rate_limited",
        500..=599 => "server_error",
        _ => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_object_has_the_four_documented_keys() {
        let failure = Failure::failed("not_found", "no \"such\" session").with_status(404);
        let value: serde_json::Value =
            serde_json::from_str(&failure.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            value,
            serde_json::json!({"error": {"kind": "not_found", "message": "no \"such\" session", "status": 404, "requestId": null}})
        );
        assert_eq!(failure.exit(), 1);
        assert_eq!(Failure::input("x").exit(), 2);
        assert_eq!(Failure::config("x").kind(), "config");
    }

    #[test]
    fn messages_speak_of_flags_not_rust_calls() {
        assert_eq!(
            cli_words(
                "the base URL \"http://shop.example\" is plain http (or allow_insecure_http() on a trusted network)"
            ),
            "the base URL \"http://shop.example\" is plain http"
        );
        assert_eq!(
            cli_words("successUrl \"x\" is not an absolute URI"),
            "--success-url \"x\" is not an absolute URI"
        );
        assert_eq!(cli_words("nothing to change"), "nothing to change");
    }

    #[test]
    fn sdk_errors_name_where_the_request_went() {
        let error = actalink_checkout::Error::Config {
            message: "bad".into(),
        };
        let failure = Failure::api(&error, "http://127.0.0.1:4010");
        assert_eq!(failure.kind(), "config");
        assert_eq!(failure.exit(), 2);
        assert_eq!(failure.message(), "invalid configuration: bad");
        let id = actalink_checkout::CheckoutSessionId::new("checkout_x")
            .unwrap_or_else(|e| panic!("{e}"));
        let error = actalink_checkout::Error::WaitTimedOut {
            session_id: id,
            last_status: None,
            last_error: None,
        };
        let failure = Failure::api(&error, "http://127.0.0.1:4010");
        assert_eq!(failure.kind(), "wait_timed_out");
        assert_eq!(failure.exit(), 1);
        assert!(
            failure
                .message()
                .ends_with("(request to http://127.0.0.1:4010)"),
            "{}",
            failure.message()
        );
    }
}
