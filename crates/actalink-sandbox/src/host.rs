//! Which `Host` a sandbox answers: the defence against DNS rebinding.
//!
//! A web page on `attacker.example` can make its own name resolve to
//! 127.0.0.1 and then call a sandbox on this machine as if it were its own
//! origin, reading the answers. Every such request still says
//! `Host: attacker.example`. So a sandbox bound to a loopback address answers
//! only requests addressed to a loopback name (`localhost`, `*.localhost`,
//! `127.x.y.z`, `[::1]`), to its own address or public URL, or to a name
//! allowed with [`SandboxBuilder::allow_host`](crate::SandboxBuilder::allow_host)
//! (`actalink sandbox --allow-host NAME`, for containers that reach it by
//! name). The control API checks this wherever the sandbox is bound; the API
//! and the hosted page when it is bound to loopback (on another address,
//! other machines reach them by names the sandbox cannot know).
//!
//! Hosts are read with a real authority parser (`http::uri::Authority`),
//! never by slicing strings.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::uri::Authority;
use http::{HeaderMap, StatusCode, header};

use crate::reply::Refusal;
use crate::state::State;

/// The host of an authority (`host`, `host:port`, `[v6]:port`), lowercase,
/// without a port; `None` when it is no authority (or carries userinfo,
/// which a `Host` header never does).
pub(crate) fn host_of(authority: &str) -> Option<String> {
    let parsed = Authority::from_str(authority.trim()).ok()?;
    if parsed.as_str().contains('@') {
        return None;
    }
    let host = parsed.host();
    // Anything after the host is a port, which must be a number.
    let has_port = parsed.as_str().len() > host.len();
    (!host.is_empty() && (!has_port || parsed.port_u16().is_some()))
        .then(|| host.to_ascii_lowercase())
}

/// True for `localhost`, `*.localhost` (which browsers resolve to loopback
/// themselves), `127.x.y.z` and `[::1]`.
fn is_loopback_name(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A name given to [`SandboxBuilder::allow_host`](crate::SandboxBuilder::allow_host),
/// as the sandbox compares it: its host, lowercase, without a port.
pub(crate) fn allowed_name(name: &str) -> Result<String, String> {
    host_of(name).ok_or_else(|| {
        format!("allow_host {name:?} is not a host name (such as `sandbox` or `sandbox.test`)")
    })
}

/// Whether the request's `Host` is one the sandbox answers (see the module's
/// documentation): its host, lowercase, when it is.
pub(crate) fn check(state: &State, headers: &HeaderMap) -> Result<String, Refusal> {
    let forbidden = |m: String| Refusal(StatusCode::FORBIDDEN, m);
    let Some(value) = headers.get(header::HOST) else {
        return Err(forbidden(
            "the sandbox needs a Host header naming it".into(),
        ));
    };
    let host = value.to_str().ok().and_then(host_of);
    match host {
        Some(host) if is_loopback_name(&host) || state.hosts.contains(&host) => Ok(host),
        _ => {
            let shown: String = String::from_utf8_lossy(value.as_bytes())
                .chars()
                .take(100)
                .collect();
            Err(forbidden(format!(
                "the sandbox answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1]), \
                 to its own address or to a name allowed with `actalink sandbox --allow-host NAME` \
                 (SandboxBuilder::allow_host), not to Host {shown:?}: a web page may have rebound its name to this machine"
            )))
        }
    }
}

/// The outer middleware: refuses a rebound `Host` on every route when the
/// sandbox is bound to loopback. (The control API's own guard checks it
/// wherever the sandbox is bound.)
pub(crate) async fn guard(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    if !state.loopback_only {
        return next.run(request).await;
    }
    match check(&state, request.headers()) {
        Ok(_) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(path = %request.uri().path(), "request to a foreign Host refused");
            refusal.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_parsed_not_sliced() {
        for (authority, host) in [
            ("127.0.0.1:4010", Some("127.0.0.1")),
            ("LOCALHOST", Some("localhost")),
            ("[::1]:80", Some("[::1]")),
            ("[::1]", Some("[::1]")),
            ("sandbox.test:8080", Some("sandbox.test")),
            ("user@127.0.0.1", None),
            ("a b", None),
            ("", None),
            ("127.0.0.1:port", None),
            ("[::1", None),
        ] {
            assert_eq!(host_of(authority).as_deref(), host, "{authority:?}");
        }
        for name in [
            "localhost",
            "shop.localhost",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
        ] {
            assert!(is_loopback_name(name), "{name}");
        }
        for name in [
            "localhost.attacker.example",
            "10.0.0.1",
            "[::2]",
            "localhostx",
        ] {
            assert!(!is_loopback_name(name), "{name}");
        }
        assert_eq!(allowed_name("Sandbox:4010").as_deref(), Ok("sandbox"));
        assert!(allowed_name("not a host").is_err());
    }
}
