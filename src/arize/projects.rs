//! `GET /v2/projects`: the names of projects, and the space each is in:
//! a project-based task's space and names come from here (section 3.2 of
//! the specification). Read every `--names-refresh-interval`, one listing
//! per space filter (`space_id=` or `space_name=`), unfiltered without.

use serde::Deserialize;

use super::client::{Endpoint, Session};
use super::error::ApiError;
use super::field::{self, Capped, Element, Field};
use super::pager::{self, Page, Pagination};
use super::report::ApiPath;
use super::spaces::Name;
use super::tasks::SpaceFilter;

/// The longest `project_type` kept, in bytes (a label value).
pub const MAX_TYPE_BYTES: usize = 64;

/// `GET /v2/projects`.
pub fn endpoint() -> Endpoint {
    Endpoint::new(ApiPath::Projects, ["v2", "projects"])
}

/// A page: `{"projects": [...], "pagination": {...}}`.
#[derive(Debug, Deserialize)]
pub struct ProjectPage {
    pub projects: Vec<Element<Project>>,
    pub pagination: Pagination,
}

impl Page for ProjectPage {
    type Item = Project;
    fn into_parts(self) -> (Vec<Project>, Pagination) {
        (field::items(self.projects, "projects"), self.pagination)
    }
}

/// A project as sent (the fields the exporter reads; every one optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Project {
    pub id: Field<String>,
    pub name: Field<Name>,
    pub space_id: Field<String>,
    /// `APPLICATION`, `HARNESS`, `EXPERIMENT`, or a new value; null for an
    /// untyped project.
    pub project_type: Field<Capped<MAX_TYPE_BYTES>>,
}

/// Every project of the spaces `filters` select (of every space the key
/// sees without filters), all pages (see [`pager::list_per_space`]).
pub async fn list(
    session: &Session<'_>,
    filters: &[SpaceFilter],
    page_size: u32,
) -> Result<Vec<Project>, ApiError> {
    pager::list_per_space::<ProjectPage>(session, &endpoint(), filters, page_size).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_projects_with_bad_fields() {
        let page: ProjectPage = serde_json::from_str(
            r#"{"projects":[{"id":"p","name":"Chat","space_id":"s","project_type":"APPLICATION","created_at":"x"},
                {"id":"q","project_type":null,"space_id":3}],"pagination":{"has_more":false}}"#,
        )
        .unwrap();
        let (projects, _) = page.into_parts();
        assert_eq!(projects.len(), 2);
        assert_eq!(
            projects[0].project_type.as_value().map(|t| t.text.as_str()),
            Some("APPLICATION")
        );
        assert_eq!(projects[1].project_type, Field::Absent);
        assert!(projects[1].space_id.mistyped().is_some());
    }
}
