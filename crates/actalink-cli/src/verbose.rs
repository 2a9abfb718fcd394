//! What `-v` prints on stderr: one short line per HTTP attempt, and one per
//! other event, without the span fields that `tracing`'s own format repeats
//! on every line:
//!
//! ```text
//! GET /billing/api/v1/paysession/status: attempt 1 answered 503, retrying in 491 ms
//! GET /billing/api/v1/paysession/status: attempt 2 answered 404
//! ```
//!
//! `-vv` (and `RUST_LOG`) keep `tracing`'s full format, every span and field.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The transport's span around one attempt (`actalink_transport::retry`).
const ATTEMPT_SPAN: &str = "attempt";

/// The fields of a span or an event, as text, in the order recorded.
#[derive(Debug, Default)]
struct Fields {
    message: Option<String>,
    pairs: Vec<(&'static str, String)>,
}

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `key=value` pairs but the ones in `skip`.
    fn rest(&self, skip: &[&str]) -> String {
        let mut text = String::new();
        for (name, value) in &self.pairs {
            if !skip.contains(name) {
                // Writing to a String cannot fail.
                let _ = write!(text, " {name}={value}");
            }
        }
        text
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.pairs.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.pairs.push((field.name(), text));
        }
    }
}

/// One attempt's outcome, printed when its span closes.
#[derive(Debug, Default)]
struct Outcome {
    line: Option<String>,
}

/// The `-v` layer.
#[derive(Debug)]
pub(crate) struct Short;

fn print(line: &str) {
    // Text from the server (an error, a status) is escaped for the terminal.
    crate::stdio::err(format_args!("{}\n", crate::output::escape(line)));
}

impl<S> Layer<S> for Short
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != ATTEMPT_SPAN {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            extensions.insert(fields);
            extensions.insert(Outcome::default());
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.message.clone().unwrap_or_default();
        let attempt = ctx
            .event_scope(event)
            .and_then(|mut scope| scope.find(|span| span.name() == ATTEMPT_SPAN));
        if let Some(span) = attempt {
            let mut extensions = span.extensions_mut();
            let head = extensions.get_mut::<Fields>().map(|f| {
                format!(
                    "{} {}: attempt {}",
                    f.get("method").unwrap_or("?"),
                    f.get("path").unwrap_or("?").trim_matches('"'),
                    f.get("attempt").unwrap_or("?")
                )
            });
            let head = head.unwrap_or_else(|| "attempt".to_owned());
            let line = match message.as_str() {
                "response received" => Some(format!(
                    "{head} answered {}",
                    fields.get("status").unwrap_or("?")
                )),
                "attempt failed" => Some(format!(
                    "{head} failed ({})",
                    fields.get("kind").unwrap_or("?")
                )),
                "retrying" => {
                    let wait = fields.get("wait_ms").unwrap_or("?");
                    if let Some(outcome) = extensions.get_mut::<Outcome>()
                        && let Some(line) = &mut outcome.line
                    {
                        let _ = write!(line, ", retrying in {wait} ms");
                    }
                    return;
                }
                _ => None,
            };
            if let Some(line) = line
                && let Some(outcome) = extensions.get_mut::<Outcome>()
            {
                outcome.line = Some(line);
                return;
            }
        }
        let level = *event.metadata().level();
        let prefix = match level {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            _ => "",
        };
        print(&format!("{prefix}{message}{}", fields.rest(&[])));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && span.name() == ATTEMPT_SPAN
            && let Some(outcome) = span.extensions_mut().get_mut::<Outcome>()
            && let Some(line) = outcome.line.take()
        {
            print(&line);
        }
    }
}
