//! Cursor pagination, shared by every list endpoint: the envelope every
//! list answer has (`pagination.has_more`, `pagination.next_cursor`) and
//! the loop that follows it.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::client::{Body, Endpoint, Session};
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
///
/// The next page is asked for as soon as the cursor is known, before the
/// page is decoded: the cursor is read from the body's `pagination`
/// member alone ([`peek_pagination`], a scan of the body's structure, a
/// few times faster than decoding it), and the page is decoded and handed
/// to `on_page` while the next one is on its way, then checked against
/// the cursor already used. A poll is a chain of round trips (a cursor is
/// only known from the page before), and decoding the tasks into owned
/// strings was on that chain for every page: at 100,000 tasks about a
/// tenth of the poll (docs/performance.md, "The first poll").
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
    // The last page, handed to `on_page` while the next page is on its way
    // rather than before asking for it.
    let mut pending: Option<Pending<P::Item>> = None;
    for _ in 0..MAX_PAGES {
        let mut query = filters.to_vec();
        query.push(("limit", &limit));
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let fetch = session.get_body(endpoint, &query);
        let body = match pending.take() {
            Some(last) => {
                let (fetched, handed) = tokio::join!(fetch, async {
                    // Once, so that the request just made is written to its
                    // connection (a task of this thread's runtime) before
                    // the decoding takes the thread.
                    tokio::task::yield_now().await;
                    let items = match last {
                        Pending::Items(items) => items,
                        Pending::Body(body, peeked) => {
                            decode_page::<P>(session, endpoint, body, Some(&peeked))?.0
                        }
                    };
                    on_page(items);
                    Ok::<_, ApiError>(())
                });
                // The page before failed first: its error is the poll's.
                handed?;
                fetched?
            }
            None => fetch.await?,
        };
        // The fast way only for a page that plainly has a next one, with
        // a cursor not seen yet; the last page, a body whose `pagination`
        // the scan cannot find (not an object, an escaped key, no such
        // member) and every case that fails are decoded first, as before,
        // so that they fail the same way.
        let peeked = peek_pagination(body.bytes()).filter(|p| {
            p.has_more
                && p.next_cursor
                    .as_deref()
                    .is_some_and(|c| !c.is_empty() && !seen_cursors.contains(c))
        });
        if let Some(peeked) = peeked {
            let next = peeked.next_cursor.clone().unwrap_or_default();
            seen_cursors.insert(next.clone());
            cursor = Some(next);
            pending = Some(Pending::Body(body, peeked));
            continue;
        }
        let (items, pagination) = decode_page::<P>(session, endpoint, body, None)?;
        if !pagination.has_more {
            on_page(items);
            return Ok(());
        }
        cursor = Some(next_cursor(endpoint, pagination, &mut seen_cursors)?);
        pending = Some(Pending::Items(items));
    }
    Err(pagination_error(
        endpoint,
        &format!("more than {MAX_PAGES} pages"),
    ))
}

/// A page handed to `on_page` while the next one is fetched: decoded
/// already, or its body and the pagination read from it.
enum Pending<I> {
    Items(Vec<I>),
    Body(Body, Pagination),
}

/// Decodes one page (a page is an object: see [`Object`]); when its
/// pagination was `peeked` (and a request already sent with it), the
/// decoded one must be the same, or the page fails as `pagination`.
fn decode_page<P>(
    session: &Session<'_>,
    endpoint: &Endpoint,
    body: Body,
    peeked: Option<&Pagination>,
) -> Result<(Vec<P::Item>, Pagination), ApiError>
where
    P: Page + DeserializeOwned,
{
    let Object(page) = session.decode::<Object<P>>(body)?;
    let (items, pagination) = page.into_parts();
    if let Some(peeked) = peeked {
        if (peeked.has_more, &peeked.next_cursor) != (pagination.has_more, &pagination.next_cursor)
        {
            return Err(pagination_error(
                endpoint,
                "the page's pagination read two ways differs",
            ));
        }
    }
    Ok((items, pagination))
}

/// The `pagination` member of a list answer, read without decoding the
/// rest: a scan of the top-level object's members that skips each value
/// by its brackets and strings (strings by `memchr2` to their closing
/// quote), then [`Pagination`]'s own decoding of that member. `None` when
/// the scan does not find it plainly (not an object, a key holding an
/// escape, a truncated body): the caller then decodes the whole page. The
/// scan does not validate what it skips; the page's full decoding does,
/// before its items are used.
pub fn peek_pagination(body: &[u8]) -> Option<Pagination> {
    let mut at = skip_whitespace(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_whitespace(body, at);
        if body.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(body, at + 1)?;
        let key = &body[at + 1..key_end];
        if key.contains(&b'\\') {
            return None;
        }
        at = skip_whitespace(body, key_end + 1);
        if body.get(at) != Some(&b':') {
            return None;
        }
        let value = skip_whitespace(body, at + 1);
        let value_end = value_end(body, value)?;
        if key == b"pagination" {
            return serde_json::from_slice(&body[value..value_end]).ok();
        }
        at = skip_whitespace(body, value_end);
        match body.get(at) {
            Some(b',') => at += 1,
            _ => return None,
        }
    }
}

fn skip_whitespace(body: &[u8], mut at: usize) -> usize {
    while body
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// The index of the quote that closes the string whose contents start at
/// `at`.
fn string_end(body: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += memchr::memchr2(b'"', b'\\', body.get(at..)?)?;
        if body[at] == b'"' {
            return Some(at);
        }
        // An escape: the backslash and the byte it escapes.
        at += 2;
    }
}

/// The index just past the JSON value that starts at `at`: a string, an
/// object or a list by its brackets (strings inside skipped whole), a
/// number or a literal up to the next delimiter.
fn value_end(body: &[u8], at: usize) -> Option<usize> {
    match body.get(at)? {
        b'"' => Some(string_end(body, at + 1)? + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match body.get(i)? {
                    b'"' => i = string_end(body, i + 1)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let rest = body.get(at..)?;
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len());
            Some(at + len)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peeked(body: &str) -> Option<(bool, Option<String>)> {
        peek_pagination(body.as_bytes()).map(|p| (p.has_more, p.next_cursor))
    }

    #[test]
    fn the_pagination_is_found_past_any_tasks() {
        // Strings holding brackets, quotes, escapes and the member's own
        // name; nested lists and objects; numbers and literals.
        let body = r#" {"tasks":[{"id":"a\"}]\\","name":"{[pagination]}","n":-1.5e3,
            "ok":true,"x":null,"evaluators":[{"k":["}",{"pagination":1}]}]},{}],
            "pagination" : {"has_more":true,"next_cursor":"c\u0031"}, "after": [1] } "#;
        assert_eq!(peeked(body), Some((true, Some("c1".to_owned()))));
        assert_eq!(
            peeked(r#"{"pagination":{"has_more":false},"tasks":[]}"#),
            Some((false, None))
        );
    }

    #[test]
    fn a_pagination_the_scan_cannot_read_plainly_is_left_to_the_decoding() {
        for body in [
            "",
            "[]",
            r#"{"tasks":[]}"#,
            r#"{"tasks":[],"pagin\u0061tion":{"has_more":true,"next_cursor":"c"}}"#,
            r#"{"tasks":[{"a":"b"}],"pagination":{"has_more":true,"next_cursor":"c""#,
            r#"{"tasks":[{"a":"b}],"pagination":{"has_more":true,"next_cursor":"c"}}"#,
            r#"{"tasks" [],"pagination":{"has_more":true,"next_cursor":"c"}}"#,
            r#"{"pagination":{"has_more":"yes","next_cursor":"c"}}"#,
            r#"{"pagination":[true,"c"]}"#,
        ] {
            assert_eq!(peeked(body), None, "{body}");
        }
    }
}
