//! The name families, `arize_space_info`, `arize_project_info` and
//! `arize_dataset_info` (section 5.1 of the specification): one series per
//! space, project and dataset read with `GET /v2/spaces`, `/v2/projects`
//! and `/v2/datasets`. Their text changes only with a poll, so the store
//! renders it once per snapshot, every scrape streams it from there, and
//! the first gzip scrape compresses it for the others.

use super::filter::FamilyFilter;
use crate::snapshot::Names;
use crate::text_format::{self as text, family_header, label, sample};

/// `arize_space_info`, `arize_project_info` and `arize_dataset_info`: one
/// series per name read (section 5.1), those `families` serves; each
/// absent until its listing was read once, names cut to `max_label`.
pub fn render(out: &mut String, names: &Names, families: &FamilyFilter, max_label: usize) {
    let mut labels = String::new();
    let mut family = |name: &str, help: &str, rows: Vec<[(&str, &str); 4]>, cut_at: usize| {
        if !families.count(name) {
            return;
        }
        family_header(out, name, "gauge", help);
        for row in rows {
            labels.clear();
            for (k, (label_name, value)) in row.iter().enumerate() {
                if label_name.is_empty() {
                    continue;
                }
                let value = if k == cut_at {
                    text::cut(value, max_label)
                } else {
                    (*value).into()
                };
                label(&mut labels, label_name, &value, k == 0);
            }
            sample(out, name, &labels, 1.0);
        }
    };
    if let Some(spaces) = &names.spaces {
        family(
            "arize_space_info",
            "Always 1 per space read with GET /v2/spaces (only the filtered spaces with --space-id or --space-name); refreshed every --names-refresh-interval, kept through failed reads.",
            spaces
                .iter()
                .map(|(id, s)| {
                    [
                        ("space_id", &**id),
                        ("space_name", &*s.name),
                        ("organization_id", &*s.organization_id),
                        ("", ""),
                    ]
                })
                .collect(),
            1,
        );
    }
    if let Some(projects) = &names.projects {
        family(
            "arize_project_info",
            "Always 1 per project read with GET /v2/projects (of the filtered spaces with space filters), with its space and project_type (lower case, empty when null); refreshed every --names-refresh-interval, kept through failed reads.",
            projects
                .iter()
                .map(|(id, p)| {
                    [
                        ("project_id", &**id),
                        ("project_name", &*p.name),
                        ("space_id", &*p.space_id),
                        ("project_type", &*p.project_type),
                    ]
                })
                .collect(),
            1,
        );
    }
    if let Some(datasets) = &names.datasets {
        family(
            "arize_dataset_info",
            "Always 1 per dataset read with GET /v2/datasets (of the filtered spaces with space filters), with its space; refreshed every --names-refresh-interval, kept through failed reads.",
            datasets
                .iter()
                .map(|(id, d)| {
                    [
                        ("dataset_id", &**id),
                        ("dataset_name", &*d.name),
                        ("space_id", &*d.space_id),
                        ("", ""),
                    ]
                })
                .collect(),
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::metrics::filter::ListKind;
    use crate::snapshot::names::{ProjectName, SpaceName};

    fn one<T>(k: &str, v: T) -> Option<Arc<BTreeMap<Box<str>, T>>> {
        Some(Arc::new(BTreeMap::from([(Box::from(k), v)])))
    }

    fn names() -> Names {
        Names {
            spaces: one(
                "s",
                SpaceName {
                    name: "Prod \"EU\"".into(),
                    organization_id: "o".into(),
                },
            ),
            projects: one(
                "p",
                ProjectName {
                    name: "x".repeat(300).into(),
                    space_id: "s".into(),
                    project_type: "".into(),
                },
            ),
            datasets: None,
        }
    }

    #[test]
    fn each_listing_read_is_a_family_its_names_escaped_and_cut() {
        let mut out = String::new();
        render(&mut out, &names(), &FamilyFilter::default(), 10);
        assert!(out.contains(
            "arize_space_info{space_id=\"s\",space_name=\"Prod \\\"EU\\\"\",organization_id=\"o\"} 1\n"
        ));
        assert!(out.contains(&format!(
            "arize_project_info{{project_id=\"p\",project_name=\"{}…\",space_id=\"s\",project_type=\"\"}} 1\n",
            "x".repeat(9)
        )));
        // A listing never read has no family at all.
        assert!(!out.contains("arize_dataset_info"));
    }

    #[test]
    fn a_denied_name_family_is_not_rendered() {
        let denied = FamilyFilter::compile(ListKind::Deny, "arize_project_info")
            .unwrap()
            .unwrap()
            .filter;
        let mut out = String::new();
        render(&mut out, &names(), &denied, 200);
        assert!(out.contains("arize_space_info{"));
        assert!(!out.contains("arize_project_info"));
    }
}
