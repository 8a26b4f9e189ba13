//! `GET /v2/datasets`: the names of datasets, and the space each is in:
//! a dataset-based task's space and names come from here (section 3.2 of
//! the specification). Read every `--names-refresh-interval`, one listing
//! per space filter (`space_id=` or `space_name=`), unfiltered without.

use serde::Deserialize;

use super::client::{Endpoint, Session};
use super::error::ApiError;
use super::field::{self, Element, Field};
use super::pager::{self, Page, Pagination};
use super::report::ApiPath;
use super::spaces::Name;
use super::tasks::SpaceFilter;

/// `GET /v2/datasets`.
pub fn endpoint() -> Endpoint {
    Endpoint::new(ApiPath::Datasets, ["v2", "datasets"])
}

/// A page: `{"datasets": [...], "pagination": {...}}`.
#[derive(Debug, Deserialize)]
pub struct DatasetPage {
    pub datasets: Vec<Element<Dataset>>,
    pub pagination: Pagination,
}

impl Page for DatasetPage {
    type Item = Dataset;
    fn into_parts(self) -> (Vec<Dataset>, Pagination) {
        (field::items(self.datasets, "datasets"), self.pagination)
    }
}

/// A dataset as sent (the fields the exporter reads; every one optional;
/// `versions`, not filled in lists, is not read).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Dataset {
    pub id: Field<String>,
    pub name: Field<Name>,
    pub space_id: Field<String>,
}

/// Every dataset of the spaces `filters` select (of every space the key
/// sees without filters), all pages (see [`pager::list_per_space`]).
pub async fn list(
    session: &Session<'_>,
    filters: &[SpaceFilter],
    page_size: u32,
) -> Result<Vec<Dataset>, ApiError> {
    pager::list_per_space::<DatasetPage>(session, &endpoint(), filters, page_size).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wrong_envelope_fails_a_page() {
        let page: DatasetPage = serde_json::from_str(
            r#"{"datasets":[{"id":"d","name":"Golden set","space_id":"s","versions":null},null],
                "pagination":{"has_more":true,"next_cursor":"c"}}"#,
        )
        .unwrap();
        let (datasets, pagination) = page.into_parts();
        assert_eq!(datasets.len(), 1);
        assert_eq!(pagination.next_cursor.as_deref(), Some("c"));
        assert!(serde_json::from_str::<DatasetPage>(r#"{"datasets":[]}"#).is_err());
    }
}
