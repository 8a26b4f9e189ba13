//! The names read: `GET /v2/spaces`, `/v2/projects` and `/v2/datasets`
//! every `--names-refresh-interval`, the first time right after the first
//! complete task poll (section 3.2 of the specification).
//!
//! Names never decide a poll. Each listing is read and kept on its own: a
//! read that fails keeps what that listing gave before (or nothing), is
//! counted in `arize_exporter_name_errors_total`, warns once per endpoint
//! and cause, and is tried again at the next refresh.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::arize::field::{Capped, Field};
use crate::arize::tasks::SpaceFilter;
use crate::arize::{datasets, projects, spaces, ApiError, ApiPath, Session};
use crate::metrics::ExporterMetrics;
use crate::snapshot::names::{DatasetName, ProjectName, SpaceName};
use crate::snapshot::{unix_seconds, Names};

/// Reads the names when they are due and keeps the last good ones.
pub struct NameReader {
    /// `--names-refresh-interval`.
    interval: Duration,
    /// The space filters: only those spaces' names are read.
    spaces: Vec<SpaceFilter>,
    /// `--page-size`.
    page_size: u32,
    names: Arc<Names>,
    /// When the next read is due; `None`: at the next chance.
    next: Option<Instant>,
    /// The endpoints and causes already warned about: one warning each.
    warned: HashSet<(ApiPath, String)>,
}

impl NameReader {
    /// A reader of the names of the spaces `spaces` select (every space
    /// without filters), every `interval`, `page_size` items a page.
    pub fn new(interval: Duration, spaces: Vec<SpaceFilter>, page_size: u32) -> NameReader {
        NameReader {
            interval,
            spaces,
            page_size,
            names: Arc::default(),
            next: None,
            warned: HashSet::new(),
        }
    }

    /// The names read so far.
    pub fn names(&self) -> Arc<Names> {
        self.names.clone()
    }

    /// Reads the three listings if a refresh is due (the first call always
    /// reads). A listing that fails keeps its earlier names.
    pub async fn refresh_if_due(&mut self, session: &Session<'_>, metrics: &ExporterMetrics) {
        let now = Instant::now();
        if self.next.is_some_and(|next| now < next) {
            return;
        }
        self.next = Some(now + self.interval);
        let mut names = Names::clone(&self.names);
        let filters = &self.spaces.clone();
        let size = self.page_size;
        let read = spaces::list(session, filters, size)
            .await
            .map(|items| spaces_by_id(items, session));
        if let Some(read) = self.kept(ApiPath::Spaces, read, metrics) {
            names.spaces = Some(Arc::new(read));
        }
        let read = projects::list(session, filters, size)
            .await
            .map(|items| projects_by_id(items, session));
        if let Some(read) = self.kept(ApiPath::Projects, read, metrics) {
            names.projects = Some(Arc::new(read));
        }
        let read = datasets::list(session, filters, size)
            .await
            .map(|items| datasets_by_id(items, session));
        if let Some(read) = self.kept(ApiPath::Datasets, read, metrics) {
            names.datasets = Some(Arc::new(read));
        }
        if names != *self.names {
            self.names = Arc::new(names);
        }
    }

    /// The names of one complete read, or `None` (counted, and warned
    /// about once per endpoint and cause) when it failed.
    fn kept<T>(
        &mut self,
        path: ApiPath,
        read: Result<T, ApiError>,
        metrics: &ExporterMetrics,
    ) -> Option<T> {
        match read {
            Ok(names) => {
                metrics.names_read(path, unix_seconds(SystemTime::now()));
                if self.warned.iter().any(|(p, _)| *p == path) {
                    self.warned.retain(|(p, _)| *p != path);
                    tracing::info!(endpoint = path.as_str(), "names read again");
                }
                Some(names)
            }
            Err(error) => {
                metrics.names_read_failed(path, error.reason);
                let cause = format!("{}/{:?}", error.reason, error.status);
                if self.warned.insert((path, cause)) {
                    let what = if error.status == Some(403) {
                        "the API key may not list these: their names stay empty, tasks are served as before"
                    } else {
                        "reading names failed: the names read before are kept; tried again at the next refresh"
                    };
                    tracing::warn!(endpoint = path.as_str(), reason = %error.reason,
                        error = %error.message, "{what}");
                } else {
                    tracing::debug!(endpoint = path.as_str(), reason = %error.reason,
                        error = %error.message, "reading names failed again");
                }
                None
            }
        }
    }
}

/// A name as kept: its text, ending in `…` when it was cut, with the API
/// key masked (names are text from the API, shown in labels and on the
/// status page: an API that echoes the key must not leak it).
fn name(field: Field<spaces::Name>, session: &Session<'_>) -> Box<str> {
    let name = text(field);
    match session.mask(&name) {
        std::borrow::Cow::Owned(masked) => masked.into_boxed_str(),
        std::borrow::Cow::Borrowed(_) => name,
    }
}

fn text<const MAX: usize>(field: Field<Capped<MAX>>) -> Box<str> {
    match field.value() {
        Some(Capped { mut text, cut }) => {
            if cut {
                text.push('…');
            }
            text.into_boxed_str()
        }
        None => Box::default(),
    }
}

/// A string field as kept; empty when missing or mistyped.
fn id(field: Field<String>) -> Box<str> {
    field.value().unwrap_or_default().into_boxed_str()
}

/// The items with an id, by id: `entry` gives an item's id and what is
/// kept of it. An item without a usable id cannot be joined to a task.
fn by_id<I, T>(items: Vec<I>, entry: impl Fn(I) -> (Field<String>, T)) -> BTreeMap<Box<str>, T> {
    items
        .into_iter()
        .map(entry)
        .map(|(key, value)| (id(key), value))
        .filter(|(key, _)| !key.is_empty())
        .collect()
}

fn spaces_by_id(items: Vec<spaces::Space>, session: &Session<'_>) -> BTreeMap<Box<str>, SpaceName> {
    by_id(items, |s| {
        let name = SpaceName {
            name: name(s.name, session),
            organization_id: id(s.organization_id),
        };
        (s.id, name)
    })
}

fn projects_by_id(
    items: Vec<projects::Project>,
    session: &Session<'_>,
) -> BTreeMap<Box<str>, ProjectName> {
    by_id(items, |p| {
        let project_type = p
            .project_type
            .value()
            .map(|t| t.text.to_lowercase().into_boxed_str())
            .unwrap_or_default();
        let name = ProjectName {
            name: name(p.name, session),
            space_id: id(p.space_id),
            project_type,
        };
        (p.id, name)
    })
}

fn datasets_by_id(
    items: Vec<datasets::Dataset>,
    session: &Session<'_>,
) -> BTreeMap<Box<str>, DatasetName> {
    by_id(items, |d| {
        let name = DatasetName {
            name: name(d.name, session),
            space_id: id(d.space_id),
        };
        (d.id, name)
    })
}
