//! The SVG bar chart of the medians: one group per row, one bar per
//! library, log-scale time axis.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Res;
use crate::harness::Col;
use crate::report::{Results, format_ns};

fn color(col: Col) -> RGBColor {
    match col {
        Col::Ring => RGBColor(170, 170, 170),
        Col::Floor => RGBColor(100, 100, 100),
        Col::Tokengate => RGBColor(214, 69, 30),
        Col::TokengateAws => RGBColor(240, 150, 60),
        Col::Oxitoken => RGBColor(140, 80, 170),
        Col::JwtAws => RGBColor(31, 100, 180),
        Col::JwtRust => RGBColor(120, 170, 225),
        Col::JwtSimple => RGBColor(60, 150, 70),
    }
}

/// Two lines for a row's label under its group.
fn label_lines(name: &str) -> (String, String) {
    match name.split_once(' ') {
        Some((a, b)) => (a.to_owned(), b.split(" (").next().unwrap_or(b).to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// Draws the chart to `path`.
pub(crate) fn draw(results: &Results, path: &Path, title: &str, footnote: &str) -> Res<()> {
    let values: Vec<f64> = results
        .rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|(_, s)| s.median_ns))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let y_min = 10f64.powf((lo / 2.0).log10().floor());
    let y_max = 10f64.powf((hi * 2.0).log10().ceil());
    let n = results.rows.len();

    let root = SVGBackend::new(path, (1500, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .margin_bottom(70)
        .x_label_area_size(10)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("median time per operation (log scale)")
        .y_label_formatter(&|v| format_ns(*v))
        .draw()?;

    let cols = results.cols();
    let width = 0.84 / cols.len().max(1) as f64;
    for (j, col) in cols.into_iter().enumerate() {
        let c = color(col);
        let bars: Vec<_> = results
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let v = r.median(col)?;
                let x0 = i as f64 - 0.42 + j as f64 * width;
                Some(Rectangle::new(
                    [(x0, y_min), (x0 + width * 0.92, v)],
                    c.filled(),
                ))
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(col.label())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;

    let style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, row) in results.rows.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64, y_min));
        let (a, b) = label_lines(row.name);
        root.draw(&Text::new(a, (px, py + 8), style.clone()))?;
        root.draw(&Text::new(b, (px, py + 26), style.clone()))?;
    }
    let small =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
    let (_, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        footnote,
        (20, i32::try_from(h).unwrap_or(760) - 8),
        small,
    ))?;
    root.present()?;
    Ok(())
}
