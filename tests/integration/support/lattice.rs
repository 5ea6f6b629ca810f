//! The emulator, started in-process on a loopback port (the same HTTP wire the real binary speaks
//! to), and seeding helpers.

use std::sync::Arc;

use lattice_emulator::FakeLattice;

/// A running emulator and direct access to its state.
pub struct Emulator {
    pub fake: Arc<FakeLattice>,
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Serves an existing fake.
    pub async fn serve(fake: Arc<FakeLattice>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = fake.clone();
        let task = tokio::spawn(async move {
            let _ = lattice_emulator::serve(listener, served).await;
        });
        Self { fake, url, task }
    }
}

impl Emulator {
    /// Serves several regions on one port (each request to the fake of the region it is signed
    /// for; `fake` is the first).
    pub async fn serve_regions(fakes: Vec<Arc<FakeLattice>>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = fakes[0].clone();
        let router = lattice_emulator::regional_router(fakes);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { fake, url, task }
    }
}

/// Creates `n` services named `svc-<i>` in `fake`; their IDs.
pub fn services(fake: &FakeLattice, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| fake.create_service(&format!("svc-{i}"), None).unwrap().id)
        .collect()
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
