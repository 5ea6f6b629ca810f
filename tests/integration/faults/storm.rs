//! Fault table row 3, a 429 storm: `retryAfterSeconds` is honoured by every call of the account.

use std::time::Duration;

use lattice_emulator::Faults;

use crate::e2e::{ok, setup, wait_ready};
use crate::support::cluster::kubectl;
use crate::support::operator::Binary;

/// Row 3, 429 storm: once AWS answers `ThrottlingException` with `retryAfterSeconds`, no further
/// call of that account reaches AWS before the advertised time (calls already on the wire when the
/// answer came are the only exception: they arrive within a few milliseconds of it), and everything
/// converges afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_answer_holds_every_call_until_the_advertised_time() {
    let (ns, emu) = setup("fault-429").await;
    emu.fake.set_faults(Faults {
        throttle: 3,
        retry_after_seconds: Some(2),
        ..Faults::default()
    });
    let mut op = Binary::spawn(&ns, &emu.url, &[]);
    // Five objects: while one waits out its 429, the others would call.
    let services = crate::support::lattice::services(&emu.fake, 5);
    for (i, service) in services.iter().enumerate() {
        let spec = format!(
            "  serviceIdentifier: {service}\n  serviceNetworkIdentifier: {}",
            crate::e2e::NETWORK
        );
        ok(kubectl(
            &["apply", "-n", &ns, "-f", "-"],
            Some(&crate::e2e::manifest(&format!("app-{i}"), &spec)),
        ));
    }
    for i in 0..5 {
        wait_ready(&ns, &format!("app-{i}"));
    }
    let calls = emu.fake.calls();
    let throttled: Vec<u64> = calls
        .iter()
        .filter(|c| c.error.as_deref() == Some("ThrottlingException"))
        .map(|c| c.at_ms)
        .collect();
    assert_eq!(throttled.len(), 3, "every injected 429 was met: {calls:?}");
    /// Calls arriving this soon after a 429 were sent before its answer came back.
    const IN_FLIGHT_MS: u64 = 100;
    for t in &throttled {
        let early: Vec<_> = calls
            .iter()
            .filter(|c| c.at_ms > t + IN_FLIGHT_MS && c.at_ms < t + 2000)
            .collect();
        assert!(
            early.is_empty(),
            "calls before the advertised time after the 429 at {t}: {early:?}"
        );
    }
    assert_eq!(
        emu.fake.associations().len(),
        5,
        "converged: one association per object"
    );
    eprintln!(
        "fault-table 429 storm: {} throttled answers (retryAfterSeconds 2), 0 calls before the advertised time, \
         {} AWS calls in all, 5 associations for 5 objects",
        throttled.len(),
        calls.len()
    );
    let status = op.terminate(Duration::from_secs(30));
    assert!(status.success());
}
