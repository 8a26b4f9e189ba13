//! `GET /v2/spaces`: the names of the spaces the key sees (section 3.2 of
//! the specification). Read every `--names-refresh-interval`, never per
//! poll; a task's space is found through its project or dataset.
//!
//! With space filters only those spaces are asked for: a `--space-name`
//! filter as the endpoint's `name` query (a case-insensitive substring),
//! and the `--space-id` filters (the endpoint has no id filter) by one
//! unfiltered listing kept to those ids.

use serde::Deserialize;

use super::client::{Endpoint, Session};
use super::error::ApiError;
use super::field::{self, Capped, Element, Field};
use super::pager::{self, Page, Pagination};
use super::report::ApiPath;
use super::tasks::SpaceFilter;

/// The longest name kept, in bytes: names are free text, and one is kept
/// per space, project and dataset (labels are cut further, to
/// `--max-label-value-length` characters).
pub const MAX_NAME_BYTES: usize = 1024;

/// A name as kept: at most [`MAX_NAME_BYTES`] bytes.
pub type Name = Capped<MAX_NAME_BYTES>;

/// `GET /v2/spaces`.
pub fn endpoint() -> Endpoint {
    Endpoint::new(ApiPath::Spaces, ["v2", "spaces"])
}

/// A page: `{"spaces": [...], "pagination": {...}}`.
#[derive(Debug, Deserialize)]
pub struct SpacePage {
    pub spaces: Vec<Element<Space>>,
    pub pagination: Pagination,
}

impl Page for SpacePage {
    type Item = Space;
    fn into_parts(self) -> (Vec<Space>, Pagination) {
        (field::items(self.spaces, "spaces"), self.pagination)
    }
}

/// A space as sent (the fields the exporter reads; every one optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Space {
    pub id: Field<String>,
    pub name: Field<Name>,
    /// Older servers omit it.
    pub organization_id: Field<String>,
}

/// Every space `filters` select (all the key sees without filters), all
/// pages, `page_size` a page. A filtered listing answered 404 (a space
/// that does not exist or is not readable) lists nothing; every other
/// failure fails the read.
pub async fn list(
    session: &Session<'_>,
    filters: &[SpaceFilter],
    page_size: u32,
) -> Result<Vec<Space>, ApiError> {
    let ids: Vec<&str> = filters
        .iter()
        .filter_map(|f| match f {
            SpaceFilter::Id(id) => Some(id.as_str()),
            SpaceFilter::Name(_) => None,
        })
        .collect();
    let mut spaces = Vec::new();
    if filters.is_empty() || !ids.is_empty() {
        let keep = |space: &Space| {
            filters.is_empty()
                || space
                    .id
                    .as_value()
                    .is_some_and(|id| ids.contains(&id.as_str()))
        };
        pager::for_each_page::<SpacePage>(session, &endpoint(), &[], page_size, |page| {
            spaces.extend(page.into_iter().filter(keep));
        })
        .await?;
    }
    for filter in filters {
        if let SpaceFilter::Name(name) = filter {
            let query = [("name", name.as_str())];
            let read = pager::for_each_page::<SpacePage>(
                session,
                &endpoint(),
                &query,
                page_size,
                |page| spaces.extend(page),
            )
            .await;
            pager::unless_not_found(read, &endpoint())?;
        }
    }
    Ok(spaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_spaces_with_bad_fields_and_skips_non_objects() {
        let page: SpacePage = serde_json::from_str(
            r#"{"spaces":[{"id":"s","name":"Prod","organization_id":null,"is_private":true},
                {"id":7,"name":["x"]},"junk"],"pagination":{"has_more":false}}"#,
        )
        .unwrap();
        let (spaces, _) = page.into_parts();
        assert_eq!(spaces.len(), 2);
        assert_eq!(
            spaces[0].name.as_value().map(|n| n.text.as_str()),
            Some("Prod")
        );
        assert_eq!(spaces[0].organization_id, Field::Absent);
        assert!(spaces[1].id.mistyped().is_some() && spaces[1].name.mistyped().is_some());
        assert!(serde_json::from_str::<SpacePage>(r#"{"spaces":{}}"#).is_err());
    }
}
