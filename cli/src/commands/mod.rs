//! The shell's commands (zkCli.sh's names, flags and output), shared by
//! the interactive shell and one-shot invocations.

mod args;
mod nodes;
mod session;

use std::sync::{Arc, Mutex};

use corral_client::{Client, WatchedEvent};

use crate::exit::Failure;
use crate::Outcome;
pub use args::split_words;

/// Every command, for `help` and tab completion.
pub const NAMES: [&str; 21] = [
    "addWatch",
    "addauth",
    "create",
    "delete",
    "deleteall",
    "get",
    "getAcl",
    "getAllChildrenNumber",
    "getEphemerals",
    "help",
    "history",
    "ls",
    "quit",
    "removewatches",
    "set",
    "setAcl",
    "stat",
    "sync",
    "tree",
    "version",
    "whoami",
];

/// Prints a line that arrives outside any command (a watch event).
pub type Notifier = Arc<dyn Fn(String) + Send + Sync>;

/// What a command runs against.
pub struct Context {
    pub client: Client,
    pub json: bool,
    /// Where watch events go.
    pub notify: Notifier,
    /// Lines entered so far (the shell's `history`).
    pub history: Arc<Mutex<Vec<String>>>,
}

impl Context {
    pub fn one_shot(client: Client, json: bool) -> Context {
        Context {
            client,
            json,
            notify: Arc::new(|line| println!("{line}")),
            history: Arc::default(),
        }
    }

    /// A callback that prints a watch event as zkCli.sh does.
    pub fn watcher(&self) -> impl FnOnce(WatchedEvent) + Send + 'static {
        let notify = self.notify.clone();
        move |event| notify(event_text(&event))
    }
}

/// zkCli.sh's watch notification.
pub fn event_text(e: &WatchedEvent) -> String {
    let path = if e.path.is_empty() { "null" } else { &e.path };
    format!(
        "\nWATCHER::\n\nWatchedEvent state:{:?} type:{:?} path:{path}",
        e.state, e.event_type
    )
}

/// Runs one command given as words (`["get", "-s", "/a"]`); the text to
/// print (ending with a newline unless empty).
pub async fn run(ctx: &Context, words: &[String]) -> Outcome {
    let Some((name, rest)) = words.split_first() else {
        return Ok(String::new());
    };
    // `--json` is accepted after the command too.
    let json = ctx.json || rest.iter().any(|w| w == "--json");
    let rest: Vec<String> = rest.iter().filter(|w| *w != "--json").cloned().collect();
    let ctx = &Context {
        client: ctx.client.clone(),
        json,
        notify: ctx.notify.clone(),
        history: ctx.history.clone(),
    };
    match name.as_str() {
        "ls" => nodes::ls(ctx, &rest).await,
        "get" => nodes::get(ctx, &rest).await,
        "set" => nodes::set(ctx, &rest).await,
        "create" => nodes::create(ctx, &rest).await,
        "delete" => nodes::delete(ctx, &rest).await,
        "deleteall" | "rmr" => nodes::delete_all(ctx, &rest).await,
        "stat" => nodes::stat(ctx, &rest).await,
        "getAcl" => nodes::get_acl(ctx, &rest).await,
        "setAcl" => nodes::set_acl(ctx, &rest).await,
        "sync" => nodes::sync(ctx, &rest).await,
        "getEphemerals" => nodes::get_ephemerals(ctx, &rest).await,
        "getAllChildrenNumber" => nodes::all_children_number(ctx, &rest).await,
        "tree" => nodes::tree(ctx, &rest).await,
        "addauth" => session::add_auth(ctx, &rest).await,
        "whoami" => session::who_am_i(ctx).await,
        "addWatch" => session::add_watch(ctx, &rest).await,
        "removewatches" => session::remove_watches(ctx, &rest).await,
        "history" => Ok(session::history(ctx)),
        "help" => Ok(help()),
        "version" => Ok(format!("corral {}\n", env!("CARGO_PKG_VERSION"))),
        // The shell handles it itself.
        "quit" => Ok(String::new()),
        other => Err(Failure::usage(format!(
            "Command not found: {other}\n{}",
            help()
        ))),
    }
}

pub fn help() -> String {
    let mut out = String::from("ZooKeeper -server host:port cmd args\n");
    for line in crate::AFTER_HELP
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
    {
        out.push_str(line);
        out.push('\n');
    }
    out
}
