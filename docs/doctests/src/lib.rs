//! Every Rust sample in the README, the crate READMEs and the book, compiled
//! (and, unless marked `no_run`, run) as a doc test by `cargo test`, so that
//! no sample drifts from the API. Not published.

macro_rules! pages {
    ($($name:ident => $path:literal,)*) => {$(
        #[cfg(doctest)]
        #[doc = include_str!($path)]
        #[allow(dead_code)]
        struct $name;
    )*};
}

pages! {
    Readme => "../../../README.md",
    TypesReadme => "../../../crates/actalink-types/README.md",
    TransportReadme => "../../../crates/actalink-transport/README.md",
    CheckoutReadme => "../../../crates/actalink-checkout/README.md",
    SandboxReadme => "../../../crates/actalink-sandbox/README.md",
    PaymentsReadme => "../../../crates/actalink-payments/README.md",
    GettingStarted => "../../src/getting-started.md",
    Sessions => "../../src/sessions.md",
    Status => "../../src/status.md",
    Webhooks => "../../src/webhooks.md",
    Events => "../../src/events.md",
    Errors => "../../src/errors.md",
    Testing => "../../src/testing.md",
    GoingLive => "../../src/going-live.md",
    Payments => "../../src/payments.md",
    ScalingOut => "../../src/scaling-out.md",
    Migrating => "../../src/migrating.md",
    Tracing => "../../src/tracing.md",
    CustomTransport => "../../src/custom-transport.md",
    Tls => "../../src/tls.md",
    Troubleshooting => "../../src/troubleshooting.md",
    Cli => "../../src/cli.md",
    Storefront => "../../src/storefront.md",
}
