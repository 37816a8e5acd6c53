//! The result of a run, printed as text or as one JSON object.

use std::fmt::Write as _;
use std::time::Duration;

use corral_protocol::ErrorCode;
use hdrhistogram::Histogram;

use super::stats::Stats;
use super::workload::Op;
use super::{BenchArgs, Workload};

fn error_name(code: i32) -> String {
    ErrorCode::from_i32(code).map_or_else(|| format!("ERROR{code}"), |c| c.name().to_owned())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn latency_json(h: &Histogram<u64>) -> String {
    format!(
        "\"ops\":{},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\"mean_us\":{:.1}",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        h.mean()
    )
}

pub fn ops_used(args: &BenchArgs) -> Vec<Op> {
    match args.workload {
        Workload::Mixed => vec![Op::Read, Op::Write],
        Workload::Create => vec![Op::Create],
        Workload::Watch => vec![Op::Watch, Op::Notify],
    }
}

pub fn ops_per_sec(stats: &Stats) -> f64 {
    stats.ops() as f64 / secs(stats.window).max(1e-9)
}

/// One JSON object on one line.
pub fn json(args: &BenchArgs, stats: &Stats) -> String {
    let mut out = String::from("{");
    let _ = write!(
        out,
        "\"workload\":{},\"server\":{},\"sessions\":{},\"in_flight\":{},\"znodes\":{},\
         \"value_size\":{},\"read_pct\":{},\"duration_s\":{},\"warmup_s\":{},\
         \"ops_per_sec\":{:.1},{},\"by_op\":{{",
        json_str(args.workload.name()),
        json_str(&args.server),
        args.sessions,
        args.in_flight,
        args.znodes,
        args.value_size,
        args.read_pct,
        secs(stats.window),
        secs(args.warmup),
        ops_per_sec(stats),
        latency_json(&stats.all),
    );
    let by_op: Vec<String> = ops_used(args)
        .into_iter()
        .map(|op| {
            format!(
                "{}:{{{}}}",
                json_str(op.name()),
                latency_json(&stats.by_op[op.index()])
            )
        })
        .collect();
    out.push_str(&by_op.join(","));
    out.push_str("},\"errors\":{");
    let errors: Vec<String> = stats
        .errors
        .iter()
        .map(|(code, n)| format!("{}:{n}", json_str(&error_name(*code))))
        .collect();
    out.push_str(&errors.join(","));
    let _ = write!(out, "}},\"error_total\":{}", stats.error_total());
    if args.workload == Workload::Create {
        let _ = write!(out, ",\"parents\":{}", args.parents);
    }
    if let Some(n) = args.count {
        let _ = write!(
            out,
            ",\"count\":{n},\"created\":{},\"last_path\":{},\"last_zxid\":{}",
            stats.created,
            stats
                .last_create
                .as_ref()
                .map_or_else(|| "null".to_owned(), |(_, p)| json_str(p)),
            stats
                .last_create
                .as_ref()
                .map_or_else(|| "null".to_owned(), |(z, _)| z.to_string()),
        );
    }
    out.push('}');
    out
}

/// A short human-readable report.
pub fn text(args: &BenchArgs, stats: &Stats) -> String {
    let mut out = String::new();
    if args.workload == Workload::Watch {
        let _ = writeln!(
            out,
            "workload watch against {}: {} watchers, one change per round, {:.3} s (+{} s warmup), value {} B",
            args.server,
            args.sessions,
            secs(stats.window),
            secs(args.warmup),
            args.value_size,
        );
    } else {
        let _ = writeln!(
        out,
        "workload {} against {}: {} sessions x {} in flight, {:.3} s (+{} s warmup), value {} B{}",
        args.workload.name(),
        args.server,
        args.sessions,
        args.in_flight,
        secs(stats.window),
        secs(args.warmup),
        args.value_size,
        match args.workload {
            Workload::Mixed => format!(", {} znodes, {}% reads", args.znodes, args.read_pct),
            Workload::Create if args.parents > 0 => format!(", {} parents", args.parents),
            Workload::Create => String::new(),
            Workload::Watch => String::new(),
        }
    );
    }
    if let Some(n) = args.count {
        let _ = writeln!(
            out,
            "{} of {n} creates done; newest: {}",
            stats.created,
            stats.last_create.as_ref().map_or("-", |(_, p)| p.as_str())
        );
    }
    let _ = writeln!(
        out,
        "{:<10} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "op", "ops", "ops/s", "p50 µs", "p99 µs", "p999 µs", "max µs"
    );
    let mut row = |name: &str, h: &Histogram<u64>| {
        let _ = writeln!(
            out,
            "{:<10} {:>10} {:>12.0} {:>9} {:>9} {:>9} {:>9}",
            name,
            h.len(),
            h.len() as f64 / secs(stats.window).max(1e-9),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
    };
    for op in ops_used(args) {
        row(op.name(), &stats.by_op[op.index()]);
    }
    row("all", &stats.all);
    if stats.errors.is_empty() {
        let _ = writeln!(out, "errors: none");
    } else {
        let list: Vec<String> = stats
            .errors
            .iter()
            .map(|(code, n)| format!("{} {n}", error_name(*code)))
            .collect();
        let _ = writeln!(out, "errors: {} ({})", stats.error_total(), list.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn error_names() {
        assert_eq!(error_name(-110), "NODEEXISTS");
        assert_eq!(error_name(-9999), "ERROR-9999");
    }
}
