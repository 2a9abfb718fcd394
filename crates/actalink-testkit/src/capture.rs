//! Capturing `tracing` output in a test.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// Everything a `tracing` subscriber wrote, kept in memory.
///
/// [`LogCapture::install`] sets a TRACE-level subscriber for the current
/// thread until the returned guard drops; [`LogCapture::text`] reads what was
/// written so far.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// A capture and a guard that keeps a TRACE-level, ANSI-free subscriber
    /// writing into it on this thread.
    #[must_use]
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        // tracing caches each callsite's interest process-wide. While at most
        // one dispatcher exists, the interest of a callsite first reached by
        // another test's thread (one with no subscriber) is computed against
        // that thread's `NoSubscriber` and cached as "never", which silences
        // the callsite here too (tokio-rs/tracing#3611). A global default
        // makes the capture a second dispatcher, so interest is asked of every
        // registered dispatcher, this one included.
        let _ = tracing::subscriber::set_global_default(Undecided);
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// What was written so far.
    #[must_use]
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The global default [`LogCapture::install`] sets: it records nothing and
/// enables nothing, and answers every callsite "sometimes", so that whether a
/// callsite is enabled is asked of the current thread's subscriber each time
/// rather than cached from whichever thread reached it first.
struct Undecided;

impl tracing::Subscriber for Undecided {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        // Never called: nothing is enabled.
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::LogCapture;

    #[test]
    fn captures_what_tracing_writes_on_this_thread() {
        let (capture, guard) = LogCapture::install();
        tracing::trace!(answer = 42, "a trace event");
        drop(guard);
        tracing::info!("after the guard");
        let text = capture.text();
        assert!(
            text.contains("a trace event") && text.contains("answer=42"),
            "{text}"
        );
        assert!(!text.contains("after the guard"), "{text}");
    }
}
