//! A loopback TCP proxy in front of an endpoint that a test can take down: while down it refuses
//! new connections and has cut every open one, as an AWS endpoint that stopped answering does.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

/// The proxy; `url` is where clients connect.
pub struct Proxy {
    pub url: String,
    addr: SocketAddr,
    upstream: SocketAddr,
    running: Arc<Mutex<Option<JoinSet<()>>>>,
}

impl Proxy {
    /// Starts forwarding a fresh loopback port to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("an http://ip:port URL");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Self {
            url: format!("http://{addr}"),
            addr,
            upstream,
            running: Arc::default(),
        };
        proxy.serve(listener).await;
        proxy
    }

    async fn serve(&self, listener: TcpListener) {
        let mut tasks = JoinSet::new();
        let upstream = self.upstream;
        let running = self.running.clone();
        tasks.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                if let Some(set) = running.lock().await.as_mut() {
                    set.spawn(async move {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    });
                }
            }
        });
        *self.running.lock().await = Some(tasks);
    }

    /// Cuts every connection and refuses new ones until [`Proxy::up`].
    pub async fn down(&self) {
        if let Some(mut set) = self.running.lock().await.take() {
            set.abort_all();
            while set.join_next().await.is_some() {}
        }
    }

    /// Accepts connections again, on the same port.
    pub async fn up(&self) {
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        self.serve(listener).await;
    }
}
