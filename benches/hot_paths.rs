//! Micro-benchmarks of the exporter's hot paths, to find where the time of
//! a poll (decoding, the snapshot, the exposition's store) and of a scrape
//! goes (the end-to-end figures come from
//! `examples/scale_bench.rs`).
//!
//! `cargo bench --bench hot_paths`; `cargo test --all-targets` runs each
//! once, as a smoke test.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use arize_exporter::arize::field::FieldWarnings;
use arize_exporter::arize::pager::Page;
use arize_exporter::arize::tasks::TaskPage;
use arize_exporter::config::Settings;
use arize_exporter::metrics::store::{SeriesStore, StoreSettings};
use arize_exporter::metrics::ExpositionSettings;
use arize_exporter::metrics::{ExporterMetrics, Exposition};
use arize_exporter::snapshot::{SnapshotBuilder, TaskSnapshot};
use arize_exporter::state::Published;
use arize_exporter::text_format as text;
use arize_sim::generated_tasks;

/// Pages of 100 tasks, exactly as the simulator serves them.
fn pages_of(n: usize) -> Vec<Vec<u8>> {
    let tasks = generated_tasks(n, time::OffsetDateTime::now_utc());
    let pages: Vec<_> = tasks.chunks(100).collect();
    let count = pages.len();
    pages
        .into_iter()
        .enumerate()
        .map(|(k, page)| {
            let more = k + 1 < count;
            let json = serde_json::json!({
                "tasks": page.iter().map(|t| &t.json).collect::<Vec<_>>(),
                "pagination": if more {
                    serde_json::json!({"has_more": true, "next_cursor": format!("c{k}")})
                } else {
                    serde_json::json!({"has_more": false})
                },
            });
            serde_json::to_vec(&json).expect("serialisable")
        })
        .collect()
}

fn snapshot(pages: &[Vec<u8>]) -> TaskSnapshot {
    let mut warnings = FieldWarnings::default();
    let mut builder = SnapshotBuilder::new(false, &mut warnings);
    for page in pages {
        let page: TaskPage = serde_json::from_slice(page).expect("a valid page");
        builder.add_page(page.into_parts().0, None, None);
    }
    builder.finish(SystemTime::now())
}

/// A complete poll of `pages`, published with its store.
fn published(pages: &[Vec<u8>]) -> Arc<Published> {
    Arc::new(Published::complete(
        Arc::new(snapshot(pages)),
        None,
        &StoreSettings::default(),
    ))
}

/// The exposition settings of an exporter run with the default flags.
fn options() -> ExpositionSettings {
    match Settings::from_args(["arize-exporter", "--demo"]) {
        Ok(settings) => settings.exposition,
        Err(e) => panic!("default settings: {e}"),
    }
}

fn decode_page(c: &mut Criterion) {
    let page = pages_of(100).remove(0);
    let mut group = c.benchmark_group("poll");
    group.throughput(Throughput::Bytes(page.len() as u64));
    group.bench_function("decode a page of 100 tasks", |b| {
        b.iter(|| serde_json::from_slice::<TaskPage>(black_box(&page)).expect("valid"))
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("add a decoded page of 100 tasks to a snapshot", |b| {
        b.iter_batched(
            || {
                serde_json::from_slice::<TaskPage>(&page)
                    .expect("valid")
                    .into_parts()
                    .0
            },
            |tasks| {
                let mut warnings = FieldWarnings::default();
                let mut builder = SnapshotBuilder::new(false, &mut warnings);
                builder.add_page(tasks, None, None);
                builder.finish(SystemTime::now())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn build_snapshot(c: &mut Criterion) {
    let pages = pages_of(10_000);
    let mut group = c.benchmark_group("poll");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("decode and build a snapshot of 10k tasks", |b| {
        b.iter(|| snapshot(black_box(&pages)))
    });
    // Publishing: the exposition's store of the snapshot, afresh (the
    // first poll) and on the store of an unchanged snapshot (every block
    // shared).
    let built = snapshot(&pages);
    let last = SeriesStore::build(&built, None, &StoreSettings::default());
    group.bench_function("build the store of 10k tasks", |b| {
        b.iter(|| SeriesStore::build(black_box(&built), None, &StoreSettings::default()))
    });
    group.bench_function("build the store of 10k unchanged tasks", |b| {
        b.iter(|| SeriesStore::build(black_box(&built), Some(&last), &StoreSettings::default()))
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    let pages = pages_of(10_000);
    let small = published(&pages);
    let metrics = ExporterMetrics::new();
    let options = options();
    let bytes: usize = Exposition::new(small.clone(), &metrics, &options, SystemTime::now())
        .map(|chunk| chunk.len())
        .sum();
    let mut group = c.benchmark_group("scrape");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("render the exposition of 10k tasks", |b| {
        b.iter(|| {
            Exposition::new(small.clone(), &metrics, &options, SystemTime::now())
                .map(|chunk| chunk.len())
                .sum::<usize>()
        })
    });
    group.bench_function(
        "render the head (self metrics and counts) of 10k tasks",
        |b| {
            b.iter(|| {
                Exposition::new(small.clone(), &metrics, &options, SystemTime::now())
                    .next()
                    .map(|chunk| chunk.len())
            })
        },
    );
    // 100k tasks: the table (tens of MB) no longer fits in the caches,
    // so this is where the memory layout of the snapshot shows.
    let large = published(&pages_of(100_000));
    let bytes: usize = Exposition::new(large.clone(), &metrics, &options, SystemTime::now())
        .map(|chunk| chunk.len())
        .sum();
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("render the exposition of 100k tasks", |b| {
        b.iter(|| {
            Exposition::new(large.clone(), &metrics, &options, SystemTime::now())
                .map(|chunk| chunk.len())
                .sum::<usize>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("text");
    let values = [1.0, 0.25, 1_772_375_400.123, 3_599.987_654_321, 4.0];
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("format sample values", |b| {
        let mut out = String::with_capacity(256);
        b.iter(|| {
            out.clear();
            for v in values {
                text::value(&mut out, black_box(v));
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, decode_page, build_snapshot, render);
criterion_main!(benches);
