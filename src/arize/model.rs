//! The shapes `GET /v2/tasks` returns, decoded leniently (SPEC section 4).
//!
//! Every task field is optional: a missing or null field keeps the task and
//! only leaves out the metrics that need it. Unknown fields are ignored. A
//! field of the wrong JSON type is not the expected shape and fails the page.

use serde::Deserialize;

/// One page of any list endpoint: its items and where the next page is.
pub trait Page {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Pagination);
}

/// `pagination` of a list answer.
#[derive(Debug, Default, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A page of `GET /v2/tasks`.
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
