//! The physical bounds the benchmark sets each figure against, pure and unit-tested: what the
//! account's request rate and the provisioning delay allow at best. BENCHMARKS.md and the changelog
//! quote these numbers; a change here changes every "vs bound" column.

/// Associations a List page holds (AWS's maximum page size, which the operator asks for).
pub const PAGE: usize = 100;

/// How many objects each of `networks` networks gets when `objects` are spread round-robin (object
/// `i` in network `i % networks`).
pub fn per_network(objects: usize, networks: usize) -> Vec<usize> {
    let n = networks.max(1);
    (0..n).map(|k| (objects + n - 1 - k) / n).collect()
}

/// List pages one look at every network takes: each network's objects / [`PAGE`], at least one.
pub fn pages(objects: usize, networks: usize) -> usize {
    per_network(objects, networks)
        .iter()
        .map(|c| c.div_ceil(PAGE).max(1))
        .sum()
}

/// All of a burst Ready at best: its calls (`creates` Creates and `pages` List pages, one final look
/// at every network) at the account's `rate`, then the provisioning delay `d` of the last one (s).
pub fn burst_ready(creates: usize, pages: usize, rate: f64, d: f64) -> f64 {
    (creates + pages) as f64 / rate + d
}

/// All of a burst gone at best: its `deletes` at `rate`, then the delay `d` of the last one (s).
pub fn burst_gone(deletes: usize, rate: f64, d: f64) -> f64 {
    deletes as f64 / rate + d
}

/// A restart's first full pass at best: one look at every network, `pages` calls at `rate` (s).
pub fn restart_pass(pages: usize, rate: f64) -> f64 {
    pages as f64 / rate
}

/// The healthy namespaces' share of `rate` while the failing ones are busy: they take turns, so
/// `healthy_ns / (healthy_ns + failing_ns)` of it.
pub fn fair_share(rate: f64, healthy_ns: usize, failing_ns: usize) -> f64 {
    rate * healthy_ns as f64 / (healthy_ns + failing_ns).max(1) as f64
}

/// All healthy objects Ready at best (s): the provisioning delay `d` plus their `needed` calls at
/// their namespaces' [`fair_share`] of `rate`.
pub fn fair_ready(d: f64, needed: usize, rate: f64, healthy_ns: usize, failing_ns: usize) -> f64 {
    d + needed as f64 / fair_share(rate, healthy_ns, failing_ns)
}

/// Networks for a fleet of `objects` at `per_network` objects a network (at least one).
pub fn networks_for(objects: usize, per_network: usize) -> usize {
    objects.div_ceil(per_network.max(1)).max(1)
}

/// The least-squares line through `points` (x, y): `(a, b)` of y = a + b·x. `None` when the x do
/// not differ (no slope to fit).
pub fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if points.len() < 2 || sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

/// The slope from one point to another (y per x); `None` when their x are equal.
pub fn slope((x0, y0): (f64, f64), (x1, y1): (f64, f64)) -> Option<f64> {
    (x1 != x0).then(|| (y1 - y0) / (x1 - x0))
}

/// How long a scenario waits before it gives up: ten times the bound, never under five minutes (s).
pub fn give_up_after(bound: f64) -> f64 {
    (10.0 * bound).max(300.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_spread_round_robin_and_pages_round_up_per_network() {
        assert_eq!(per_network(10, 3), [4, 3, 3]);
        assert_eq!(per_network(10_000, 20).iter().sum::<usize>(), 10_000);
        assert_eq!(pages(1_000, 20), 20, "50 a network: one page each");
        assert_eq!(pages(10_000, 20), 100, "500 a network: five pages each");
        assert_eq!(pages(3_000, 1), 30);
        assert_eq!(pages(101, 1), 2);
        assert_eq!(pages(3, 5), 5, "an empty network still takes a page to look at");
    }

    #[test]
    fn the_burst_bounds_are_its_calls_at_the_rate_plus_one_delay() {
        // BENCHMARKS.md: 1,000 Creates + 20 List pages at 20/s + D = 5 s.
        assert_eq!(burst_ready(1_000, 20, 20.0, 5.0), 56.0);
        assert_eq!(burst_gone(1_000, 20.0, 5.0), 55.0);
        assert_eq!(restart_pass(100, 20.0), 5.0);
    }

    #[test]
    fn the_fair_bound_gives_the_healthy_namespaces_their_turns() {
        assert_eq!(fair_share(10.0, 1, 3), 2.5);
        assert_eq!(fair_share(10.0, 1, 0), 10.0, "alone: the whole rate");
        // 100 healthy Creates + 1 page at a quarter of 10/s, after D = 5 s.
        assert_eq!(fair_ready(5.0, 101, 10.0, 1, 3), 45.4);
    }

    #[test]
    fn big_network_bounds_are_one_network_at_the_default_rate() {
        // BENCHMARKS.md: 3,000 Creates + 30 List pages of the one network at 10/s + D = 2 s.
        assert_eq!(pages(3_000, 1), 30);
        assert_eq!(burst_ready(3_000, pages(3_000, 1), 10.0, 2.0), 305.0);
        assert_eq!(burst_ready(500, pages(500, 1), 10.0, 2.0), 52.5);
    }

    #[test]
    fn scale_fleets_have_500_objects_a_network_and_list_a_page_per_100() {
        assert_eq!(networks_for(1_000, 500), 2);
        assert_eq!(networks_for(10_000, 500), 20);
        assert_eq!(networks_for(50_000, 500), 100);
        assert_eq!(networks_for(20, 500), 1, "a scaled run still has a network");
        assert_eq!(pages(50_000, networks_for(50_000, 500)), 500);
        assert_eq!(restart_pass(500, 20.0), 25.0);
    }

    #[test]
    fn the_memory_line_is_fitted_by_least_squares() {
        // On a line: a and b come back exactly.
        let (a, b) = fit_line(&[(1_000.0, 20.0), (10_000.0, 29.0), (50_000.0, 69.0)]).unwrap();
        assert!((a - 19.0).abs() < 1e-9 && (b - 0.001).abs() < 1e-12, "{a} {b}");
        // Off it: (0,0), (1,1), (2,3): mean x 1, mean y 4/3, b = (1·(-4/3)·-1 + 0 + 1·5/3) / 2 = 1.5.
        let (a, b) = fit_line(&[(0.0, 0.0), (1.0, 1.0), (2.0, 3.0)]).unwrap();
        assert!((b - 1.5).abs() < 1e-12 && (a + 1.0 / 6.0).abs() < 1e-12, "{a} {b}");
        assert_eq!(fit_line(&[(5.0, 1.0), (5.0, 2.0)]), None, "no spread in x");
        assert_eq!(fit_line(&[(5.0, 1.0)]), None);
        assert_eq!(slope((1_000.0, 20.0), (10_000.0, 38.0)), Some(0.002));
        assert_eq!(slope((1.0, 2.0), (1.0, 3.0)), None);
    }

    #[test]
    fn a_scenario_gives_up_at_ten_bounds_or_five_minutes() {
        assert_eq!(give_up_after(56.0), 560.0);
        assert_eq!(give_up_after(3.0), 300.0);
    }
}
