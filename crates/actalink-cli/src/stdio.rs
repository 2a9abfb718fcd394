//! Writing to stdout and stderr without ever panicking.
//!
//! `println!` panics when stdout is a pipe whose reader has gone
//! (`actalink webhook sign … | head -c 1`): Rust ignores `SIGPIPE`, so the
//! write fails with `EPIPE` instead of ending the process. Every line the
//! command prints goes through [`out`] or [`err`] instead (the `outln!`,
//! `out!` and `errln!` macros). When the reader of either stream has gone,
//! the command ends at once and quietly, as a C program would: killed by
//! `SIGPIPE`, which a shell reports as status 141. Any other failure to
//! write stdout (a full disk) is one line on stderr and exit status 1.
//!
//! The serving sandbox follows the same rule: when nobody reads its stdout
//! any more, the next line it prints ends it, quietly. A caller that wants
//! only its first line (its URL) keeps reading, or discards, the rest.

use std::fmt;
use std::io::{self, Write};

/// Prints to stdout: [`out`] with `format!` arguments.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdio::out(format_args!($($arg)*))
    };
}

/// Prints a line to stdout: [`out`] with `format!` arguments and a newline.
macro_rules! outln {
    () => {
        $crate::stdio::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdio::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line to stderr: [`err`] with `format!` arguments and a newline.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stdio::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stdout and flushes; a reader that has gone ends the command
/// (see the module's documentation).
pub(crate) fn out(text: fmt::Arguments<'_>) {
    write_stdout(|stdout| stdout.write_fmt(text));
}

/// Writes to stderr; a reader that has gone ends the command. Any other
/// failure is ignored: there is nowhere left to report it.
pub(crate) fn err(text: fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    if let Err(e) = stderr.write_fmt(text).and_then(|()| stderr.flush())
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        drop(stderr);
        end_of_pipe();
    }
}

/// Writes `bytes` (generated text, a completion script) to stdout, as [`out`].
pub(crate) fn out_bytes(bytes: &[u8]) {
    write_stdout(|stdout| stdout.write_all(bytes));
}

/// Runs `write` on stdout and flushes; a reader that has gone ends the
/// command, any other failure exits 1.
fn write_stdout(write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) {
    let mut stdout = io::stdout().lock();
    if let Err(e) = write(&mut stdout).and_then(|()| stdout.flush()) {
        drop(stdout);
        if e.kind() == io::ErrorKind::BrokenPipe {
            end_of_pipe();
        }
        let _ = writeln!(io::stderr(), "error: could not write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Ends the process as `SIGPIPE`'s default action does: quietly, with the
/// status a shell reports as 141 (128 + 13). Where signals cannot be raised,
/// exits with that number.
pub(crate) fn end_of_pipe() -> ! {
    #[cfg(unix)]
    {
        let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGPIPE);
    }
    std::process::exit(141)
}
