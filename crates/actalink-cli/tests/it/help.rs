//! Help for people: examples on every command, no empty `[env: X=]`, flags
//! only where they apply; completion scripts for every shell; the documented
//! syntax; human output in RFC 3339 and words.

use crate::support::*;

/// Every command path that has its own help.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["demo"],
    &["sandbox"],
    &["sandbox", "pay"],
    &["sandbox", "cancel"],
    &["sandbox", "fail"],
    &["sandbox", "expire"],
    &["session"],
    &["session", "create"],
    &["session", "get"],
    &["session", "wait"],
    &["webhook"],
    &["webhook", "verify"],
    &["webhook", "sign"],
    &["webhook", "trigger"],
    &["completions"],
];

#[tokio::test]
async fn every_command_has_examples_and_no_empty_env_annotation() {
    for env in [
        vec![],
        vec![
            ("ACTALINK_API_KEY", "sk_live_TOPSECRET"),
            ("ACTALINK_BASE_URL", "https://api.acta.link"),
            ("ACTALINK_WEBHOOK_SECRET", "whsec_TOPSECRET"),
        ],
    ] {
        for path in COMMANDS {
            let mut args = path.to_vec();
            args.push("--help");
            let output = run_env(&args, &env).await;
            assert_eq!(code(&output), 0, "{path:?}");
            let help = stdout(&output);
            let examples = help
                .split_once("\nExamples:\n")
                .unwrap_or_else(|| panic!("{path:?}: no examples:\n{help}"))
                .1;
            assert!(examples.contains("actalink "), "{path:?}:\n{help}");
            assert!(
                !help.contains("=]"),
                "{path:?} shows an empty or valued env:\n{help}"
            );
            assert!(
                !help.contains("TOPSECRET") && !help.contains("api.acta.link]"),
                "{path:?}:\n{help}"
            );
            // No default said twice (once in words, once by clap).
            assert!(!help.contains("(default:"), "{path:?}:\n{help}");
            assert!(!help.contains("(the default)"), "{path:?}:\n{help}");
        }
    }
}

#[tokio::test]
async fn api_flags_show_only_where_they_apply() {
    let help = |path: &'static [&'static str]| async move {
        let mut args = path.to_vec();
        args.push("--help");
        stdout(&run(&args).await)
    };
    for path in [
        &["session", "create"][..],
        &["session", "get"],
        &["session", "wait"],
    ] {
        let text = help(path).await;
        assert!(
            text.contains("--api-key") && text.contains("--base-url"),
            "{path:?}:\n{text}"
        );
    }
    for path in [&["sandbox", "pay"][..], &["sandbox", "expire"]] {
        let text = help(path).await;
        assert!(
            text.contains("--base-url") && !text.contains("--api-key"),
            "{path:?}:\n{text}"
        );
        assert!(text.contains("The running sandbox's URL"), "{text}");
    }
    let text = help(&["sandbox"]).await;
    let options = text.split_once("\nExamples:").unwrap().0;
    assert!(
        options.contains("--api-key") && !options.contains("--base-url"),
        "{text}"
    );
    assert!(
        !text.contains("[env: ACTALINK_API_KEY]"),
        "the sandbox ignores it:\n{text}"
    );
    // trigger fetches the session of --session: both, with their own help.
    let text = help(&["webhook", "trigger"]).await;
    assert!(
        text.contains("--api-key") && text.contains("--base-url"),
        "{text}"
    );
    assert!(text.contains("to fetch the session of --session"), "{text}");
    for path in [
        &["webhook", "sign"][..],
        &["webhook", "verify"],
        &["demo"],
        &["completions"],
    ] {
        let text = help(path).await;
        assert!(
            !text.contains("--api-key") && !text.contains("--base-url"),
            "{path:?}:\n{text}"
        );
    }
    let text = help(&[]).await;
    for flag in ["--api-key", "--base-url", "--json", "--verbose"] {
        assert!(text.contains(flag), "{flag}:\n{text}");
    }
}

#[tokio::test]
async fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = run(&["completions", shell]).await;
        assert_exit_for(&output, 0, shell);
        let script = stdout(&output);
        assert!(script.len() > 1000, "{shell}: {script}");
        assert!(script.contains("actalink"), "{shell}");
        // Subcommands and the flags added after the command's name are there.
        assert!(
            script.contains("trigger") && script.contains("expire"),
            "{shell}"
        );
        assert!(script.contains("base-url"), "{shell}");
    }
    assert_eq!(code(&run(&["completions", "tcsh"]).await), 2);
    assert_eq!(code(&run(&["completions"]).await), 2);
}

#[tokio::test]
async fn the_documented_syntax_works_with_every_global_flag_before_the_command() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    let output = run_api(&sandbox, &["--json", "-v", "session", "get", &id]).await;
    assert_exit(&output, 0);
    assert_eq!(json_stdout(&output)["id"], id.as_str());
    assert_stderr_has(&output, "attempt 1 answered 200");
    // And after it.
    let output = run(&with(&["session", "get", &id], &api(&sandbox, &["--json"]))).await;
    assert_exit(&output, 0);
}

#[tokio::test]
async fn human_output_uses_rfc3339_times_and_intervals_in_words() {
    let sandbox = sandbox().await;
    let id = session_id(&create(&sandbox, &[]).await);
    control(&sandbox, &id, "pay").await;
    let output = run_api(&sandbox, &["session", "get", &id]).await;
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(
        text.contains("Recipe Pro · 0.16 USDC every 15 minutes"),
        "{text}"
    );
    for label in ["created at", "expires at", "paid at", "period ends"] {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("{label} in {text}"))
            .trim();
        // 2025-08-29T15:35:36.348Z
        let bytes = value.as_bytes();
        assert!(
            value.len() >= 20 && bytes[4] == b'-' && bytes[10] == b'T' && value.ends_with('Z'),
            "{label}: {value}"
        );
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{label}: {value}: {e}"));
    }
    assert!(!text.contains("+00:00:00"), "{text}");
}
