//! The bench's own watch on the objects: when each one was first seen Ready (condition `Ready=True`)
//! and when it was gone, by the time its watch event arrived. One watch costs the API server less
//! than polling lists of thousands of objects.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};

use crate::now_ms;

#[derive(Clone, Copy, Debug, Default)]
pub struct Seen {
    /// When the object was first seen with `Ready=True`.
    pub ready_at: Option<u64>,
    /// When its deletion was seen.
    pub gone_at: Option<u64>,
}

#[derive(Default)]
struct State {
    objects: HashMap<String, Seen>,
    /// Names seen since the current (re-)list began.
    listing: Option<HashSet<String>>,
    synced: bool,
}

pub struct Watch {
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn is_ready(o: &DynamicObject) -> bool {
    o.data
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type").and_then(|t| t.as_str()) == Some("Ready")
                    && c.get("status").and_then(|s| s.as_str()) == Some("True")
            })
        })
}

impl Watch {
    pub fn start(api: Api<DynamicObject>) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let task = tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default()).default_backoff().boxed();
            while let Some(event) = events.next().await {
                let Ok(event) = event else {
                    continue; // the watcher backs off and re-lists by itself
                };
                let now = now_ms();
                let mut st = s.lock().unwrap_or_else(|p| p.into_inner());
                match event {
                    watcher::Event::Init => st.listing = Some(HashSet::new()),
                    watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                        let name = o.metadata.name.clone().unwrap_or_default();
                        if let Some(l) = st.listing.as_mut() {
                            l.insert(name.clone());
                        }
                        let ready = is_ready(&o);
                        let seen = st.objects.entry(name).or_default();
                        seen.gone_at = None;
                        if ready && seen.ready_at.is_none() {
                            seen.ready_at = Some(now);
                        }
                    }
                    watcher::Event::Delete(o) => {
                        let name = o.metadata.name.clone().unwrap_or_default();
                        st.objects.entry(name).or_default().gone_at.get_or_insert(now);
                    }
                    watcher::Event::InitDone => {
                        if let Some(listed) = st.listing.take() {
                            for (name, seen) in &mut st.objects {
                                if !listed.contains(name) {
                                    seen.gone_at.get_or_insert(now);
                                }
                            }
                        }
                        st.synced = true;
                    }
                }
            }
        });
        Self { state, task }
    }

    fn with<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn synced(&self) -> bool {
        self.with(|s| s.synced)
    }

    /// What the watch has seen of each of `names` (default for a name never seen).
    pub fn seen(&self, names: &[String]) -> Vec<Seen> {
        self.with(|s| {
            names
                .iter()
                .map(|n| s.objects.get(n).copied().unwrap_or_default())
                .collect()
        })
    }

    /// How many of `names` have been seen Ready.
    pub fn ready_count(&self, names: &[String]) -> usize {
        self.seen(names).iter().filter(|s| s.ready_at.is_some()).count()
    }

    /// How many of `names` are gone (seen deleted, or never seen at all after having been).
    pub fn gone_count(&self, names: &[String]) -> usize {
        self.seen(names).iter().filter(|s| s.gone_at.is_some()).count()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
