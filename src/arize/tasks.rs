//! `GET /v2/tasks`: the path, the query built from the task filters, and
//! the page it answers, decoded leniently.
//!
//! Every task field is optional: a missing or null field keeps the task and
//! only leaves out the metrics that need it. Unknown fields are ignored. A
//! field of the wrong JSON type is not the expected shape and fails the page.

use serde::Deserialize;

use super::client::{ArizeClient, Credentials, Endpoint};
use super::error::ApiError;
use super::pager::{self, Page, Pagination};
use crate::config::{SpaceFilter, TaskFilters};

/// The path template of the endpoint, as the `endpoint` metric label.
pub const PATH: &str = "/v2/tasks";

/// `GET /v2/tasks`.
pub fn endpoint() -> Endpoint {
    Endpoint::new(PATH, ["v2", "tasks"])
}

/// The query parameters for `filters`, narrowed to one space filter when
/// given: `name`, `project_id`, `dataset_id`, `type` (upper-case, as the
/// current SDKs send it) and `space_id` or `space_name`.
pub fn query<'a>(
    filters: &'a TaskFilters,
    space: Option<&'a SpaceFilter>,
) -> Vec<(&'static str, &'a str)> {
    let mut query = Vec::new();
    for (name, value) in [
        ("name", &filters.name),
        ("project_id", &filters.project_id),
        ("dataset_id", &filters.dataset_id),
        ("type", &filters.task_type),
    ] {
        if let Some(value) = value {
            query.push((name, value.as_str()));
        }
    }
    match space {
        Some(SpaceFilter::Id(id)) => query.push(("space_id", id)),
        Some(SpaceFilter::Name(name)) => query.push(("space_name", name)),
        None => {}
    }
    query
}

/// Every page of the tasks `filters` select within one space filter (or
/// all spaces), `page_size` tasks a page, each page handed to `on_page` in
/// order (see [`pager::for_each_page`]).
pub async fn for_each_page(
    client: &ArizeClient,
    credentials: &Credentials,
    filters: &TaskFilters,
    space: Option<&SpaceFilter>,
    page_size: u32,
    on_page: impl FnMut(Vec<Task>),
) -> Result<(), ApiError> {
    pager::for_each_page::<TaskPage>(
        client,
        credentials,
        &endpoint(),
        &query(filters, space),
        page_size,
        on_page,
    )
    .await
}

/// A page of `GET /v2/tasks`: `{"tasks": [...], "pagination": {...}}`.
#[derive(Debug, Deserialize)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub pagination: Pagination,
}

impl Page for TaskPage {
    type Item = Task;
    fn into_parts(self) -> (Vec<Task>, Pagination) {
        (self.tasks, self.pagination)
    }
}

/// A task as the API returns it. Timestamps stay strings here: one that does
/// not parse is treated as missing for its task, never as a failed page.
#[derive(Debug, Default, Deserialize)]
pub struct Task {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub task_type: Option<String>,
    pub project_id: Option<String>,
    pub dataset_id: Option<String>,
    pub sampling_rate: Option<f64>,
    pub is_continuous: Option<bool>,
    pub evaluators: Option<Vec<serde::de::IgnoredAny>>,
    pub last_run_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub created_by_user_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_each_filter_and_the_space() {
        let filters = TaskFilters {
            spaces: vec![],
            name: Some("hallucination".into()),
            project_id: None,
            dataset_id: Some("d".into()),
            task_type: Some("CODE_EVALUATION".into()),
        };
        assert_eq!(
            query(&filters, Some(&SpaceFilter::Name("Prod".into()))),
            [
                ("name", "hallucination"),
                ("dataset_id", "d"),
                ("type", "CODE_EVALUATION"),
                ("space_name", "Prod")
            ]
        );
        assert_eq!(
            query(&TaskFilters::default(), Some(&SpaceFilter::Id("s".into()))),
            [("space_id", "s")]
        );
    }

    #[test]
    fn nulls_missing_and_unknown_fields_keep_the_task() {
        let page: TaskPage = serde_json::from_str(
            r#"{"tasks":[{"id":"a","type":null,"sampling_rate":null,"evaluators":null,
                "surprise":{"x":[1,2]},"last_run_at":null},{}],"pagination":{"has_more":false}}"#,
        )
        .unwrap();
        assert_eq!(page.tasks.len(), 2);
        assert_eq!(page.tasks[0].id.as_deref(), Some("a"));
        assert!(page.tasks[0].task_type.is_none() && page.tasks[1].id.is_none());
    }

    #[test]
    fn integer_and_float_sampling_rates_both_decode() {
        let page: TaskPage = serde_json::from_str(
            r#"{"tasks":[{"sampling_rate":1},{"sampling_rate":0.25}],"pagination":{"has_more":true,"next_cursor":"c"}}"#,
        )
        .unwrap();
        assert_eq!(page.tasks[0].sampling_rate, Some(1.0));
        assert_eq!(page.tasks[1].sampling_rate, Some(0.25));
        assert_eq!(page.pagination.next_cursor.as_deref(), Some("c"));
    }

    #[test]
    fn a_wrong_shape_is_an_error() {
        assert!(serde_json::from_str::<TaskPage>(r#"{"pagination":{"has_more":false}}"#).is_err());
        assert!(serde_json::from_str::<TaskPage>(r#"{"tasks":{},"pagination":{}}"#).is_err());
        assert!(serde_json::from_str::<TaskPage>(
            r#"{"tasks":[{"is_continuous":"yes"}],"pagination":{}}"#
        )
        .is_err());
    }
}
