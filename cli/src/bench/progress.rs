//! A progress bar on stderr while a run goes (hidden when stderr is not a
//! terminal, so scripts and `--json` consumers see nothing of it).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::BenchArgs;

/// Starts the bar: over warmup + duration for a timed run, a spinner for a
/// `--count` run without a time limit. Finish it with [`finish`].
pub fn start(args: &BenchArgs) -> ProgressBar {
    let target = ProgressDrawTarget::stderr();
    let bar = match args.time_limit() {
        Some(d) => {
            let total = (args.warmup + d).as_millis() as u64;
            let bar = ProgressBar::with_draw_target(Some(total), target);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {msg:9} [{bar:40}] {elapsed}/{duration} (warmup {prefix})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, target);
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                bar.set_style(style);
            }
            bar
        }
    };
    bar.set_prefix(format!("{:?}", args.warmup));
    bar.set_message(args.workload.name());
    bar.enable_steady_tick(Duration::from_millis(100));
    let ticker = bar.clone();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        while !ticker.is_finished() {
            ticker.set_position(started.elapsed().as_millis() as u64);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    bar
}

pub fn finish(bar: &ProgressBar) {
    bar.finish_and_clear();
}
