//! What the poller publishes and every request reads: the last complete
//! snapshot and the outcome of the last poll, swapped atomically as one value
//! so that scrapes never wait for a lock and never see a half-updated state.

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::arize::ApiError;
use crate::metrics::store::{SeriesStore, StoreSettings};
use crate::snapshot::TaskSnapshot;

/// One immutable view of the exporter's data.
#[derive(Debug, Default)]
pub struct Published {
    /// The last complete poll's tasks; `None` until one completes.
    pub snapshot: Option<Arc<TaskSnapshot>>,
    /// The exposition's store of that snapshot (its series text), built
    /// when it was published; `None` with it.
    pub store: Option<Arc<SeriesStore>>,
    /// The outcome of the most recent poll; `None` until the first ends.
    pub last_poll: Option<PollOutcome>,
}

/// How the most recent poll ended.
#[derive(Debug)]
pub struct PollOutcome {
    pub finished_at: SystemTime,
    pub error: Option<ApiError>,
}

impl Published {
    /// A complete poll's view: `snapshot` and its store of the families
    /// `families` serves, which shares the text that did not change with
    /// `previous` (the store still served).
    pub fn complete(
        snapshot: Arc<TaskSnapshot>,
        previous: Option<&SeriesStore>,
        settings: &StoreSettings,
    ) -> Published {
        let store = SeriesStore::build(&snapshot, previous, settings);
        Published {
            last_poll: Some(PollOutcome {
                finished_at: snapshot.completed_at,
                error: None,
            }),
            store: Some(Arc::new(store)),
            snapshot: Some(snapshot),
        }
    }

    /// `arize_up`: whether the most recent poll succeeded.
    pub fn up(&self) -> bool {
        self.last_poll.as_ref().is_some_and(|p| p.error.is_none())
    }

    /// `/readyz`: the first poll has ended, one way or the other.
    pub fn ready(&self) -> bool {
        self.last_poll.is_some()
    }
}

/// The shared, atomically swapped state.
#[derive(Default)]
pub struct SharedState {
    current: ArcSwap<Published>,
    /// The families whose text each store keeps (every one by default),
    /// and the label length limit.
    store: StoreSettings,
}

impl SharedState {
    /// An empty state whose stores keep the text `store` says
    /// (`--metric-allowlist`, `--metric-denylist`, `--max-label-value-length`).
    pub fn new(store: StoreSettings) -> SharedState {
        SharedState {
            current: ArcSwap::default(),
            store,
        }
    }

    /// The current view; cheap, lock-free, and consistent for its lifetime.
    pub fn load(&self) -> Arc<Published> {
        self.current.load_full()
    }

    /// A complete poll: its snapshot, and the exposition's store built from
    /// it here (on the publishing thread), replace the previous ones.
    pub fn publish_success(&self, snapshot: Arc<TaskSnapshot>) {
        // Only the poller writes, so a plain load-then-store cannot race.
        let previous = self.current.load_full();
        let published = Published::complete(snapshot, previous.store.as_deref(), &self.store);
        drop(previous);
        self.current.store(Arc::new(published));
    }

    /// A failed poll: the previous snapshot keeps being served.
    pub fn publish_failure(&self, error: ApiError, finished_at: SystemTime) {
        // Only the poller writes, so a plain load-then-store cannot race.
        let (snapshot, store) = {
            let current = self.current.load();
            (current.snapshot.clone(), current.store.clone())
        };
        self.current.store(Arc::new(Published {
            snapshot,
            store,
            last_poll: Some(PollOutcome {
                finished_at,
                error: Some(error),
            }),
        }));
    }
}
