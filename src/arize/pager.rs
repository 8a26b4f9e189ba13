//! Cursor pagination, shared by every list endpoint: the envelope every
//! list answer has (`pagination.has_more`, `pagination.next_cursor`) and
//! the loop that follows it.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::client::{Endpoint, Session};
use super::error::{ApiError, FailureReason};
use super::field::Object;
use super::tasks::SpaceFilter;

/// One page of any list endpoint: its items and where the next page is.
pub trait Page {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Pagination);
}

/// `pagination` of a list answer: part of the envelope, so strict (not an
/// object, a missing or mistyped `has_more`, or a `next_cursor` that is not
/// a string or null, fails the page). `next_cursor` is opaque: never parsed
/// or built, only sent back as `cursor`.
#[derive(Debug, Default)]
pub struct Pagination {
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// The fields of [`Pagination`], as serde derives them.
#[derive(Deserialize)]
struct PaginationFields {
    has_more: bool,
    #[serde(default)]
    next_cursor: Option<String>,
}

impl<'de> Deserialize<'de> for Pagination {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Object(PaginationFields {
            has_more,
            next_cursor,
        }) = Object::deserialize(deserializer)?;
        Ok(Pagination {
            has_more,
            next_cursor,
        })
    }
}

/// A list with more pages than this is treated as a cursor that never ends.
const MAX_PAGES: usize = 100_000;

/// Fetches every page of a list endpoint: `limit` on each request, then the
/// previous page's `next_cursor`, until `has_more` is false. A repeated
/// cursor, or `has_more` without a cursor, fails instead of looping.
///
/// Each page's items go to `on_page` once the page is decoded, while the
/// next page is fetched (pages are handed over in order, and a failure
/// still stops at the page that failed), so a large account is never held
/// twice in memory (raw and processed).
pub async fn for_each_page<P>(
    session: &Session<'_>,
    endpoint: &Endpoint,
    filters: &[(&str, &str)],
    page_size: u32,
    mut on_page: impl FnMut(Vec<P::Item>),
) -> Result<(), ApiError>
where
    P: Page + DeserializeOwned,
{
    let limit = page_size.to_string();
    let mut seen_cursors = HashSet::new();
    let mut cursor: Option<String> = None;
    // The items of the last page, handed to `on_page` while the next page
    // is on its way rather than before asking for it: a large account's
    // poll then costs little more than fetching its pages.
    let mut pending: Option<Vec<P::Item>> = None;
    for _ in 0..MAX_PAGES {
        let mut query = filters.to_vec();
        query.push(("limit", &limit));
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        // A page is an object: see [`Object`].
        let fetch = session.get_json::<Object<P>>(endpoint, &query);
        let Object(page) = match pending.take() {
            Some(items) => tokio::join!(fetch, async { on_page(items) }).0?,
            None => fetch.await?,
        };
        let (items, pagination) = page.into_parts();
        if !pagination.has_more {
            on_page(items);
            return Ok(());
        }
        pending = Some(items);
        cursor = Some(next_cursor(endpoint, pagination, &mut seen_cursors)?);
    }
    Err(pagination_error(
        endpoint,
        &format!("more than {MAX_PAGES} pages"),
    ))
}

/// The cursor of the next page of an answer whose `has_more` is true: its
/// `next_cursor`, unless it is missing, empty or one already `seen` (a
/// cursor loop), which fail as `pagination` instead of looping.
pub fn next_cursor(
    endpoint: &Endpoint,
    pagination: Pagination,
    seen: &mut HashSet<String>,
) -> Result<String, ApiError> {
    match pagination.next_cursor {
        Some(next) if next.is_empty() => Err(pagination_error(
            endpoint,
            "has_more is true but next_cursor is empty",
        )),
        None => Err(pagination_error(
            endpoint,
            "has_more is true but there is no next_cursor",
        )),
        Some(next) if !seen.insert(next.clone()) => {
            Err(pagination_error(endpoint, "the API repeated a cursor"))
        }
        Some(next) => Ok(next),
    }
}

fn pagination_error(endpoint: &Endpoint, what: &str) -> ApiError {
    ApiError::fatal(
        FailureReason::Pagination,
        format!(
            "{}: {what}; stopping instead of looping",
            endpoint.template()
        ),
    )
}

/// `read`, except that a 404 (a filtered space or project that does not
/// exist or is not readable with this key, as the API documents for list
/// calls) is an empty listing, logged at debug level.
pub fn unless_not_found(read: Result<(), ApiError>, endpoint: &Endpoint) -> Result<(), ApiError> {
    match read {
        Err(error) if error.status == Some(404) => {
            tracing::debug!(endpoint = endpoint.template(), error = %error,
                "a filtered listing answered 404 (no such space, or not readable with this key); nothing listed");
            Ok(())
        }
        other => other,
    }
}

/// The query narrowing a names listing to one space filter: `space_id` or
/// `space_name` (`GET /v2/projects`, `GET /v2/datasets`); `None`: unfiltered.
pub fn space_query(space: Option<&SpaceFilter>) -> Vec<(&'static str, &str)> {
    match space {
        Some(SpaceFilter::Id(id)) => vec![("space_id", id.as_str())],
        Some(SpaceFilter::Name(name)) => vec![("space_name", name.as_str())],
        None => Vec::new(),
    }
}

/// Every page of the list endpoint `endpoint` for each space filter (one
/// unfiltered listing without filters), `page_size` items a page, the
/// items of all of them together. A filtered listing answered 404 lists
/// nothing; any other failure fails the whole read.
pub async fn list_per_space<P>(
    session: &Session<'_>,
    endpoint: &Endpoint,
    filters: &[SpaceFilter],
    page_size: u32,
) -> Result<Vec<P::Item>, ApiError>
where
    P: Page + DeserializeOwned,
{
    let spaces: Vec<Option<&SpaceFilter>> = if filters.is_empty() {
        vec![None]
    } else {
        filters.iter().map(Some).collect()
    };
    let mut items = Vec::new();
    for space in spaces {
        let read = for_each_page::<P>(session, endpoint, &space_query(space), page_size, |page| {
            items.extend(page)
        })
        .await;
        unless_not_found(read, endpoint)?;
    }
    Ok(items)
}
