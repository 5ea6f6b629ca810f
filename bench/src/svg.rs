//! The plot of the 1,000-object run, drawn by hand as SVG: objects Ready (left axis) and cumulative
//! AWS calls, throttled ones apart (right axis), over seconds since the first create, with the bound
//! and the moment the last create was accepted marked.

use std::fmt::Write as _;

use crate::model::{Series, trim};

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
