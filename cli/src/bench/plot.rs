//! `--plot out.svg`: the latency distribution of a run as an SVG chart
//! (plotters): latency (µs, log scale) at each percentile, one line per
//! operation, for the docs.

use std::path::Path;

use anyhow::{anyhow, Result};
use hdrhistogram::Histogram;
use plotters::prelude::*;

use super::report;
use super::stats::Stats;
use super::BenchArgs;

/// The percentiles plotted, evenly spaced on the x axis.
const PERCENTILES: [f64; 7] = [50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0];

const COLORS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];

fn points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    PERCENTILES
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, h.value_at_percentile(*p).max(1) as f64))
        .collect()
}

pub fn write_svg(path: &Path, args: &BenchArgs, stats: &Stats) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let series: Vec<(&str, Vec<(f64, f64)>)> = report::ops_used(args)
        .into_iter()
        .map(|op| (op.name(), points(&stats.by_op[op.index()])))
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let max = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|(_, y)| *y))
        .fold(10.0, f64::max);
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = format!(
        "corral bench {}: {:.0} ops/s, {} sessions x {} in flight",
        args.workload.name(),
        report::ops_per_sec(stats),
        args.sessions,
        args.in_flight
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0f64..(PERCENTILES.len() - 1) as f64,
            (1f64..max * 2.0).log_scale(),
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (µs)")
        .x_labels(PERCENTILES.len())
        .x_label_formatter(&|x| {
            PERCENTILES
                .get(x.round() as usize)
                .map_or(String::new(), |p| format!("p{p}"))
        })
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (name, pts)) in series.into_iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
