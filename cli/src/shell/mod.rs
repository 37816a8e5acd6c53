//! The interactive shell: zkCli.sh's commands with line editing, history,
//! tab completion of commands and znode paths ([`complete`]), watch events
//! printed as they arrive, and the session state in the prompt:
//! `[zk: 127.0.0.1:2181(CONNECTED) 3] `.

mod complete;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use corral_client::SessionState;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};
use tokio::runtime::Runtime;

use crate::commands::{self, Context, Notifier};
use crate::connect::{self, Options};
use crate::exit;

/// What zkCli.sh shows for a session state.
fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connected | SessionState::Reconnected => "CONNECTED",
        SessionState::Suspended => "CONNECTING",
        SessionState::ReadOnly => "CONNECTEDREADONLY",
        SessionState::Lost => "EXPIRED",
        SessionState::AuthFailed => "AUTH_FAILED",
        SessionState::Closed => "CLOSED",
    }
}

/// The keeper state a session state change is reported with.
fn keeper_state(state: SessionState) -> &'static str {
    match state {
        SessionState::Connected | SessionState::Reconnected => "SyncConnected",
        SessionState::Suspended => "Disconnected",
        SessionState::ReadOnly => "ConnectedReadOnly",
        SessionState::Lost => "Expired",
        SessionState::AuthFailed => "AuthFailed",
        SessionState::Closed => "Closed",
    }
}

/// `$CORRAL_HISTORY`, else `~/.corral_history`.
fn history_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CORRAL_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".corral_history"))
}

/// Runs the shell until `quit` or end of input; the exit code.
pub fn run(runtime: &Runtime, options: &Options) -> i32 {
    println!("Connecting to {}", options.hosts);
    let client = match runtime.block_on(connect::connect(options)) {
        Ok(c) => c,
        Err(failure) => {
            failure.print(false);
            return failure.code();
        }
    };
    // Tab completes the common prefix; a second Tab lists the candidates.
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .max_history_size(1000)
        .map(|b| b.build());
    let editor = config.and_then(Editor::<complete::ShellHelper, DefaultHistory>::with_config);
    let mut editor = match editor {
        Ok(e) => e,
        Err(e) => {
            eprintln!("corral: cannot open the terminal: {e}");
            return exit::ERROR;
        }
    };
    editor.set_helper(Some(complete::ShellHelper::new(
        client.clone(),
        runtime.handle().clone(),
    )));
    let history = history_file();
    if let Some(file) = &history {
        let _ = editor.load_history(file);
    }
    // Events are printed as they come, below the prompt, as zkCli.sh does.
    // (rustyline's ExternalPrinter would redraw the prompt, but with it
    // rustyline stalls on input that arrives in one burst, e.g. a paste.)
    let notify: Notifier = Arc::new(|line: String| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    });
    {
        let notify = notify.clone();
        client.add_listener(move |state| {
            notify(format!(
                "\nWATCHER::\n\nWatchedEvent state:{} type:None path:null",
                keeper_state(state)
            ))
        });
    }
    let ctx = Context {
        client: client.clone(),
        json: false,
        notify,
        history: Arc::new(Mutex::new(Vec::new())),
    };
    println!(
        "Welcome to corral {}! Type help for the commands.",
        env!("CARGO_PKG_VERSION")
    );
    let mut count = 0;
    loop {
        let prompt = format!(
            "[zk: {}({}) {count}] ",
            options.hosts,
            state_name(client.state())
        );
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("corral: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line.as_str());
        ctx.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.clone());
        count += 1;
        let words = match commands::split_words(&line) {
            Ok(w) => w,
            Err(failure) => {
                eprintln!("{failure}");
                continue;
            }
        };
        if matches!(words[0].as_str(), "quit" | "exit") {
            break;
        }
        match runtime.block_on(commands::run(&ctx, &words)) {
            Ok(text) => print!("{text}"),
            Err(failure) => eprintln!("{failure}"),
        }
    }
    if let Some(file) = &history {
        let _ = editor.save_history(file);
    }
    runtime.block_on(client.close());
    exit::OK
}
