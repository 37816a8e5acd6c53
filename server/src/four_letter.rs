//! Four-letter words on the client port (`ruok`, `srvr`, `mntr`, ...).

use crate::server::Server;

/// The four-letter words ZooKeeper knows.
const COMMANDS: [&str; 17] = [
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "wchs", "wchc", "wchp",
    "dump", "envi", "isro", "dirs", "gtmk", "stmk",
];

/// The command named by the first four bytes of a connection, if any.
pub fn command(word: &[u8; 4]) -> Option<&'static str> {
    COMMANDS.iter().copied().find(|c| c.as_bytes() == word)
}

/// Runs a command and returns the text to send before closing.
pub fn run(server: &Server, cmd: &str) -> String {
    if !server.core.config.four_letter_whitelist.allows(cmd) {
        return format!("{cmd} is not executed because it is not in the whitelist.\n");
    }
    match cmd {
        "ruok" => "imok".to_owned(),
        "isro" => "rw".to_owned(),
        _ => format!("{cmd} is not supported yet.\n"),
    }
}
