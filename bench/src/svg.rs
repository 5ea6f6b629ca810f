//! The plots, drawn by hand as SVG (no plotting crate: a few lines and paths).
//!
//! - [`plot`]: the 1,000-object run, objects Ready (left axis) and cumulative AWS calls, throttled
//!   ones apart (right axis), over seconds since the first create, with the bound and the moment the
//!   last create was accepted marked.
//! - [`plot_rates`]: `big-network`'s largest run, Creates and List pages per second and objects
//!   Ready over time, with the bound and the rate.
//! - [`plot_scale`]: `scale`, the operator's RSS and its first full pass against the fleet's size.

use std::fmt::Write as _;

use crate::model::{RateSeries, ScalePoint, Series, trim};

const W: f64 = 900.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 80.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 60.0;

/// A "nice" tick step giving about `n` ticks over `max`.
fn step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// Cumulative count over time of sorted event times (ms), as points (s, count), at most ~800.
fn cumulative(times: &[u64]) -> Vec<(f64, f64)> {
    let every = (times.len() / 800).max(1);
    let mut pts = vec![(0.0, 0.0)];
    for (i, t) in times.iter().enumerate() {
        if (i + 1) % every == 0 || i + 1 == times.len() {
            pts.push((*t as f64 / 1000.0, (i + 1) as f64));
        }
    }
    pts
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn plot(s: &Series, title: &str) -> String {
    let last_ready = s.ready_ms.last().copied().unwrap_or(0) as f64 / 1000.0;
    let x_max = (last_ready.max(s.bound_ms as f64 / 1000.0) * 1.08).max(1.0);
    let calls: Vec<u64> = s
        .calls_ms
        .iter()
        .copied()
        .filter(|t| (*t as f64) / 1000.0 <= x_max)
        .collect();
    let throttled: Vec<u64> = s
        .throttled_ms
        .iter()
        .copied()
        .filter(|t| (*t as f64) / 1000.0 <= x_max)
        .collect();
    let y_left = (s.objects.max(1)) as f64;
    let y_right = (calls.len().max(1)) as f64 * 1.05;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |t: f64| LEFT + t / x_max * pw;
    let yl = |v: f64| TOP + ph - v / y_left * ph;
    let yr = |v: f64| TOP + ph - v / y_right * ph;

    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    // Grid and axes.
    let xs = step(x_max, 10.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let _ = writeln!(
            o,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#eee"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{3}</text>"##,
            x(t),
            TOP + ph,
            TOP + ph + 18.0,
            trim(t)
        );
        t += xs;
    }
    let ls = step(y_left, 5.0);
    let mut v = 0.0;
    while v <= y_left + 1e-9 {
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#eee"/><text x="{2:.1}" y="{3:.1}" text-anchor="end" fill="#1f77b4">{4}</text>"##,
            yl(v),
            LEFT + pw,
            LEFT - 6.0,
            yl(v) + 4.0,
            trim(v)
        );
        v += ls;
    }
    let rs = step(y_right, 5.0);
    let mut v = 0.0;
    while v <= y_right + 1e-9 {
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{:.1}" fill="#ff7f0e">{}</text>"##,
            LEFT + pw + 6.0,
            yr(v) + 4.0,
            trim(v)
        );
        v += rs;
    }
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the first create</text>"#,
        LEFT + pw / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        o,
        r##"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle" fill="#1f77b4">objects Ready</text>"##,
        TOP + ph / 2.0
    );
    let _ = writeln!(
        o,
        r##"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="#ff7f0e">AWS calls (cumulative)</text>"##,
        W - 16.0,
        TOP + ph / 2.0
    );
    // Markers: the bound and the end of the apply.
    let b = s.bound_ms as f64 / 1000.0;
    let _ = writeln!(
        o,
        r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{2:.1}" y="{3:.1}" fill="#2ca02c">bound {4} s</text>"##,
        x(b),
        TOP + ph,
        x(b) + 4.0,
        TOP + 14.0,
        trim(b)
    );
    let a = s.applied_ms as f64 / 1000.0;
    let _ = writeln!(
        o,
        r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#888" stroke-dasharray="2 3"/><text x="{2:.1}" y="{3:.1}" fill="#666">last create accepted</text>"##,
        x(a),
        TOP + ph,
        x(a) + 4.0,
        TOP + 30.0
    );
    // Series.
    // Counts over time are steps: flat until the next event, then up.
    let line = |pts: &[(f64, f64)], y: &dyn Fn(f64) -> f64, color: &str, width: f64| {
        let mut d = String::new();
        for (i, (t, v)) in pts.iter().enumerate() {
            if i == 0 {
                let _ = write!(d, "M{:.1},{:.1}", x(*t), y(*v));
            } else {
                let _ = write!(d, " H{:.1} V{:.1}", x(*t), y(*v));
            }
        }
        format!(r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"/>"#)
    };
    let _ = writeln!(o, "{}", line(&cumulative(&calls), &yr, "#ff7f0e", 2.0));
    let _ = writeln!(o, "{}", line(&cumulative(&throttled), &yr, "#d62728", 1.5));
    let _ = writeln!(o, "{}", line(&cumulative(&s.ready_ms), &yl, "#1f77b4", 2.5));
    // Legend.
    let legend = [
        (
            "#1f77b4",
            format!("objects Ready ({} of {})", s.ready_ms.len(), s.objects),
        ),
        ("#ff7f0e", format!("AWS calls ({})", calls.len())),
        ("#d62728", format!("throttled calls ({})", throttled.len())),
    ];
    for (i, (color, text)) in legend.iter().enumerate() {
        let ly = TOP - 22.0;
        let lx = LEFT + 10.0 + i as f64 * 250.0;
        let _ = writeln!(
            o,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            escape(text)
        );
    }
    o.push_str("</svg>\n");
    o
}

/// The mean per second of each `width`-second bin of per-second counts (a last, shorter bin over
/// the seconds it has).
pub fn bins(per_s: &[u64], width: usize) -> Vec<f64> {
    per_s
        .chunks(width.max(1))
        .map(|c| c.iter().sum::<u64>() as f64 / c.len() as f64)
        .collect()
}

/// The top of the plot area in a [`Frame`]: room for the title and two rows of legend.
const FTOP: f64 = 86.0;

/// Which axis a series is drawn against.
#[derive(Clone, Copy)]
enum Axis {
    Left,
    Right,
}

/// How a series is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// Flat until the next point, then up or down (counts over time).
    Steps,
    /// Straight segments.
    Line,
    /// Straight segments with a dot at each point (measured points).
    Points,
}

/// A plot with an x axis, a left and a right y axis and a legend: the frame the plots after the
/// first (`burst-1k`'s, [`plot`], drawn on its own) are drawn in.
struct Frame {
    x_max: f64,
    y_left: f64,
    y_right: f64,
    out: String,
    legend: Vec<(String, String, &'static str)>,
}

impl Frame {
    const PW: f64 = W - LEFT - RIGHT;
    const PH: f64 = H - FTOP - BOTTOM;

    /// The title, the grid with its ticks (x labels by `x_text`), the axis labels and the box.
    fn new(
        title: &str,
        (x_max, x_label, x_text): (f64, &str, &dyn Fn(f64) -> String),
        (y_left, left_label, left_color): (f64, &str, &str),
        (y_right, right_label, right_color): (f64, &str, &str),
    ) -> Self {
        let mut f = Self {
            x_max: x_max.max(f64::MIN_POSITIVE),
            y_left: y_left.max(f64::MIN_POSITIVE),
            y_right: y_right.max(f64::MIN_POSITIVE),
            out: String::new(),
            legend: Vec::new(),
        };
        let (pw, ph) = (Self::PW, Self::PH);
        let o = &mut f.out;
        let _ = writeln!(
            o,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            o,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            W / 2.0,
            escape(title)
        );
        let xs = step(f.x_max, 10.0);
        let mut t = 0.0;
        while t <= f.x_max + 1e-9 {
            let x = LEFT + t / f.x_max * pw;
            let _ = writeln!(
                o,
                r##"<line x1="{x:.1}" y1="{FTOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                FTOP + ph,
                FTOP + ph + 18.0,
                escape(&x_text(t))
            );
            t += xs;
        }
        let ls = step(f.y_left, 5.0);
        let mut v = 0.0;
        while v <= f.y_left + 1e-9 {
            let y = FTOP + ph - v / f.y_left * ph;
            let _ = writeln!(
                o,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{left_color}">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                trim(v)
            );
            v += ls;
        }
        let rs = step(f.y_right, 5.0);
        let mut v = 0.0;
        while v <= f.y_right + 1e-9 {
            let y = FTOP + ph - v / f.y_right * ph;
            let _ = writeln!(
                o,
                r#"<text x="{:.1}" y="{:.1}" fill="{right_color}">{}</text>"#,
                LEFT + pw + 6.0,
                y + 4.0,
                trim(v)
            );
            v += rs;
        }
        let _ = writeln!(
            o,
            r##"<rect x="{LEFT}" y="{FTOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
        );
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 18.0,
            escape(x_label)
        );
        let _ = writeln!(
            o,
            r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle" fill="{left_color}">{}</text>"#,
            FTOP + ph / 2.0,
            escape(left_label)
        );
        let _ = writeln!(
            o,
            r#"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="{right_color}">{}</text>"#,
            W - 16.0,
            FTOP + ph / 2.0,
            escape(right_label)
        );
        f
    }

    fn x(&self, t: f64) -> f64 {
        LEFT + t.clamp(0.0, self.x_max) / self.x_max * Self::PW
    }

    fn y(&self, axis: Axis, v: f64) -> f64 {
        let max = match axis {
            Axis::Left => self.y_left,
            Axis::Right => self.y_right,
        };
        FTOP + Self::PH - v.clamp(0.0, max) / max * Self::PH
    }

    /// A vertical marker at `t`, its text `dy` below the top: right of the line, or left of it in
    /// the plot's right part.
    fn vline(&mut self, t: f64, color: &str, dash: &str, text: &str, dy: f64) {
        let x = self.x(t);
        let (tx, anchor) = if x > LEFT + 0.6 * Self::PW {
            (x - 4.0, "end")
        } else {
            (x + 4.0, "start")
        };
        let _ = writeln!(
            self.out,
            r#"<line x1="{x:.1}" y1="{FTOP}" x2="{x:.1}" y2="{:.1}" stroke="{color}" stroke-width="1.5" stroke-dasharray="{dash}"/><text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{color}">{}</text>"#,
            FTOP + Self::PH,
            FTOP + dy,
            escape(text)
        );
    }

    /// A horizontal marker at `v` of `axis`, its text above it at the left end when `left`, else at
    /// the right end.
    fn hline(&mut self, axis: Axis, v: f64, color: &str, text: &str, left: bool) {
        let y = self.y(axis, v);
        let (tx, anchor) = if left {
            (LEFT + 6.0, "start")
        } else {
            (LEFT + Self::PW - 4.0, "end")
        };
        let _ = writeln!(
            self.out,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="1.2" stroke-dasharray="2 3"/><text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{color}">{}</text>"#,
            LEFT + Self::PW,
            y - 4.0,
            escape(text)
        );
    }

    /// A series through `pts` (x, value), drawn in `style`; listed in the legend.
    #[allow(clippy::too_many_arguments)]
    fn series(
        &mut self,
        pts: &[(f64, f64)],
        axis: Axis,
        color: &str,
        width: f64,
        dash: &'static str,
        style: Style,
        legend: String,
    ) {
        let mut d = String::new();
        for (i, (t, v)) in pts.iter().enumerate() {
            let (x, y) = (self.x(*t), self.y(axis, *v));
            if i == 0 {
                let _ = write!(d, "M{x:.1},{y:.1}");
            } else if style == Style::Steps {
                let _ = write!(d, " H{x:.1} V{y:.1}");
            } else {
                let _ = write!(d, " L{x:.1},{y:.1}");
            }
        }
        let _ = writeln!(
            self.out,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}" stroke-dasharray="{dash}"/>"#
        );
        if style == Style::Points {
            for (t, v) in pts {
                let _ = writeln!(
                    self.out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"/>"#,
                    self.x(*t),
                    self.y(axis, *v)
                );
            }
        }
        self.legend.push((color.into(), legend, dash));
    }

    /// The legend, in rows of up to three above the plot, and the end of the document.
    fn finish(mut self) -> String {
        let rows = self.legend.len().div_ceil(3) as f64;
        for (i, (color, text, dash)) in self.legend.iter().enumerate() {
            let ly = FTOP - 6.0 - 16.0 * rows + (i / 3) as f64 * 16.0;
            let lx = LEFT + 10.0 + (i % 3) as f64 * 260.0;
            let _ = writeln!(
                self.out,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3" stroke-dasharray="{dash}"/><text x="{}" y="{}">{}</text>"#,
                lx + 22.0,
                lx + 28.0,
                ly + 4.0,
                escape(text)
            );
        }
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// The seconds of each bin of a series binned by `width` s, as step points: (start, value), closed
/// by the end of the last bin.
fn bin_steps(per_s: &[u64], width: usize) -> Vec<(f64, f64)> {
    let b = bins(per_s, width);
    let mut pts: Vec<(f64, f64)> = b.iter().enumerate().map(|(i, v)| ((i * width) as f64, *v)).collect();
    if let Some(last) = b.last() {
        pts.push((per_s.len() as f64, *last));
    }
    pts
}

/// The plot of `big-network`'s largest run: Creates and List pages per second (5-second means, left
/// axis) and objects Ready (right axis) over seconds since the first create, with the bound, the
/// rate and the moment the last create was accepted marked.
pub fn plot_rates(s: &RateSeries, title: &str) -> String {
    const BIN: usize = 5;
    let last_ready = s.ready_ms.last().copied().unwrap_or(0) as f64 / 1000.0;
    let bound = s.bound_ms as f64 / 1000.0;
    let x_max = (last_ready.max(bound).max(s.creates_per_s.len() as f64) * 1.08).max(1.0);
    let creates = bin_steps(&s.creates_per_s, BIN);
    let lists = bin_steps(&s.lists_per_s, BIN);
    let top = creates.iter().chain(&lists).map(|p| p.1).fold(s.rate, f64::max);
    let mut f = Frame::new(
        title,
        (x_max, "seconds since the first create", &|t| trim(t)),
        (top * 1.25, "calls per second (5 s means)", "#ff7f0e"),
        (s.objects.max(1) as f64, "objects Ready", "#1f77b4"),
    );
    f.hline(
        Axis::Left,
        s.rate,
        "#d62728",
        &format!("quota and operator rate: {} per s", trim(s.rate)),
        true,
    );
    f.vline(
        bound,
        "#2ca02c",
        "6 4",
        &format!("bound {} s", trim(bound)),
        Frame::PH - 8.0,
    );
    f.vline(
        s.applied_ms as f64 / 1000.0,
        "#888",
        "2 3",
        "last create accepted",
        30.0,
    );
    let (nc, nl): (u64, u64) = (s.creates_per_s.iter().sum(), s.lists_per_s.iter().sum());
    f.series(
        &creates,
        Axis::Left,
        "#ff7f0e",
        2.0,
        "none",
        Style::Steps,
        format!("Creates per s ({nc} in all)"),
    );
    f.series(
        &lists,
        Axis::Left,
        "#9467bd",
        2.0,
        "none",
        Style::Steps,
        format!("List pages per s ({nl} in all)"),
    );
    f.series(
        &cumulative(&s.ready_ms),
        Axis::Right,
        "#1f77b4",
        2.5,
        "none",
        Style::Steps,
        format!("objects Ready ({} of {})", s.ready_ms.len(), s.objects),
    );
    f.finish()
}

/// The plot of `scale`: the operator's peak RSS (and its RSS at the end of the steady window, and
/// the fitted line `fit` = (a MiB, b MiB per object)) on the left axis, the first full pass's time
/// and its bound on the right, against the fleet's size.
/// `rss_target`: (fleet size, MiB) when the run held a size's peak RSS to a target.
pub fn plot_scale(
    points: &[ScalePoint],
    fit: Option<(f64, f64)>,
    rss_target: Option<(f64, f64)>,
    title: &str,
) -> String {
    let n_max = points.iter().map(|p| p.objects).max().unwrap_or(1) as f64;
    let x_max = n_max * 1.08;
    let rss: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.objects as f64, p.peak_rss_mib?)))
        .collect();
    let end: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.objects as f64, p.end_rss_mib?)))
        .collect();
    let pass: Vec<(f64, f64)> = points.iter().map(|p| (p.objects as f64, p.pass_s)).collect();
    let bound: Vec<(f64, f64)> = points.iter().map(|p| (p.objects as f64, p.pass_bound_s)).collect();
    let y_left = rss
        .iter()
        .chain(&end)
        .map(|p| p.1)
        .fold(rss_target.map_or(1.0, |t| t.1), f64::max)
        * 1.15;
    let y_right = pass.iter().chain(&bound).map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let mut f = Frame::new(
        title,
        (x_max, "ACTIVE objects", &|n| crate::rig::count(n as usize)),
        (y_left, "operator RSS (MiB)", "#1f77b4"),
        (y_right, "first full pass after the start (s)", "#ff7f0e"),
    );
    if let Some((objects, mib)) = rss_target {
        f.hline(
            Axis::Left,
            mib,
            "#d62728",
            &format!(
                "target at {} objects: ≤ {} MiB",
                crate::rig::count(objects as usize),
                trim(mib)
            ),
            false,
        );
    }
    if let Some((a, b)) = fit {
        f.series(
            &[(0.0, a), (x_max, a + b * x_max)],
            Axis::Left,
            "#aec7e8",
            1.5,
            "6 4",
            Style::Line,
            format!("fit: {} MiB + {} KiB per object", trim(a), trim(b * 1024.0)),
        );
    }
    f.series(
        &rss,
        Axis::Left,
        "#1f77b4",
        2.5,
        "none",
        Style::Points,
        "peak RSS (VmHWM)".into(),
    );
    f.series(
        &end,
        Axis::Left,
        "#17becf",
        1.5,
        "none",
        Style::Points,
        "RSS at the end of the steady window".into(),
    );
    f.series(
        &pass,
        Axis::Right,
        "#ff7f0e",
        2.5,
        "none",
        Style::Points,
        "first full pass".into(),
    );
    f.series(
        &bound,
        Axis::Right,
        "#2ca02c",
        1.5,
        "6 4",
        Style::Points,
        "its bound: List pages / 20 per s".into(),
    );
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_means_per_second_and_a_short_last_bin_is_its_own_mean() {
        assert_eq!(bins(&[10, 10, 10, 10, 0, 4, 2], 5), [8.0, 3.0]);
        assert_eq!(bins(&[], 5), Vec::<f64>::new());
        assert_eq!(bin_steps(&[1, 3, 5], 2), [(0.0, 2.0), (2.0, 5.0), (3.0, 5.0)]);
    }

    #[test]
    fn the_plots_are_whole_svg_documents() {
        let s = RateSeries {
            objects: 3,
            rate: 10.0,
            creates_per_s: vec![3, 0, 0, 1],
            lists_per_s: vec![0, 1, 0, 1],
            ready_ms: vec![2500, 3000, 3100],
            applied_ms: 40,
            bound_ms: 2600,
        };
        let svg = plot_rates(&s, "a <title>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;title&gt;") && svg.contains("objects Ready (3 of 3)"));
        let p = |objects, rss| ScalePoint {
            objects,
            networks: 1,
            peak_rss_mib: Some(rss),
            end_rss_mib: Some(rss - 1.0),
            pass_s: 1.0,
            pass_capped: false,
            pass_bound_s: 0.5,
        };
        let svg = plot_scale(
            &[p(1000, 20.0), p(10_000, 30.0)],
            Some((19.0, 0.001)),
            Some((10_000.0, 40.0)),
            "t",
        );
        assert!(svg.ends_with("</svg>\n") && svg.contains("10,000") && svg.contains("≤ 40 MiB"));
    }
}
