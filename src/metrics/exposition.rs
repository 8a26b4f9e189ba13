//! The `/metrics` body, rendered at scrape time from the published state.
//!
//! The body of a large account runs to tens of megabytes, so it is produced
//! as a sequence of chunks (plain text, or one gzip member) that the server
//! streams as they come:
//! memory stays bounded whatever the number of tasks, and nothing is held
//! locked while rendering. Ages and stale counts are computed from `now`, so
//! they keep growing if polling stalls.

use std::io::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::exporter::ExporterMetrics;
use super::families::{Family, Labels, ScrapeContext, Value, FAMILIES, FROM_CACHE, SLOTS};
use super::filter::FamilyFilter;
use super::store::{SeriesStore, TaskSeries, NAMES_SEGMENT};
use crate::metrics::ExpositionSettings;
use crate::snapshot::unix_seconds;
use crate::snapshot::Staleness;
use crate::state::Published;
use crate::text_format::{self as text, family_header, label, sample};

/// Size at which a chunk is handed to the server.
const CHUNK_BYTES: usize = 256 * 1024;

/// Where the renderer is in the body.
#[derive(Clone, Copy)]
enum Cursor {
    /// The health and aggregate families, rendered up front (small).
    Head,
    /// The name families' text, kept with the store, from byte `at` on.
    Names {
        at: usize,
    },
    /// The exporter's own metrics, rendered up front (small).
    SelfMetrics,
    /// Family `family`, from task `task` on.
    Tasks {
        family: usize,
        task: usize,
    },
    Done,
}

/// The first family from `from` on that `families` serves, from its first
/// task; [`Cursor::Done`] when none is left. A family not served is never
/// visited: no header, no rows read, no segment.
fn next_family(families: &FamilyFilter, from: usize) -> Cursor {
    (from..FAMILIES.len())
        .find(|&k| families.per_task(k))
        .map_or(Cursor::Done, |family| Cursor::Tasks { family, task: 0 })
}

/// Whether family `family` is the same in every scrape of one snapshot (all
/// but those computed from the time of the scrape): its gzip deflate
/// segment is then compressed once and kept with the store.
fn fixed_per_poll(family: usize) -> bool {
    FAMILIES.get(family).is_some_and(|f| f.fixed_per_poll())
}

/// gzip level of the segments compressed for one scrape only (the health
/// and counts, the exporter's own metrics, the ages): the fastest, as a
/// scrape is on the clock.
const GZIP_LEVEL: u32 = 1;

/// gzip level of the segments kept with the store, compressed once per
/// poll and held until the next: at 100k tasks with run data, level 2
/// makes a 31 MB gzip body where level 1 made 37 MB, for about a fifth
/// more CPU in the first gzip scrape after a poll.
const KEPT_GZIP_LEVEL: u32 = 2;

/// The gzip header (RFC 1952): deflate, no name, no time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A final, empty deflate block (fixed Huffman codes, end of block): ends
/// the deflate stream after the last segment.
const DEFLATE_END: [u8; 2] = [0x03, 0x00];

/// Bytes before the deflate data of a block kept in the store (see [`SeriesStore::segments`]):
/// the CRC-32 (4, little-endian) and length (8) of the text it compresses.
const BLOCK_PREFIX: usize = 12;

/// One segment of the deflate stream: one rendered by each scrape (`family`
/// None), or one the store may keep (a per-task family's, or the name
/// families', by its index among the kept segments), compressed on its own and ended with a sync flush
/// (byte-aligned, not final), so that segments compressed at different
/// times concatenate into one valid deflate stream.
struct Segment {
    family: Option<usize>,
    encoder: DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    /// Bytes of text so far.
    len: u64,
    /// The whole segment so far, when this scrape claimed the family's
    /// segment in the store: stored there once the segment ends.
    stored: Option<Vec<u8>>,
}

impl Segment {
    fn new(family: Option<usize>, claimed: bool) -> Segment {
        Segment {
            family,
            encoder: DeflateEncoder::new(
                Vec::new(),
                Compression::new(if claimed { KEPT_GZIP_LEVEL } else { GZIP_LEVEL }),
            ),
            crc: crc32fast::Hasher::new(),
            len: 0,
            // Room for the block's prefix, filled in when the segment ends.
            stored: claimed.then(|| {
                let mut block = Vec::with_capacity(64 * 1024);
                block.resize(BLOCK_PREFIX, 0);
                block
            }),
        }
    }
}

/// The state of a gzip scrape: one gzip member whose deflate stream is the
/// concatenation of the segments, live or copied from the cache.
#[derive(Default)]
struct Gzip {
    header_sent: bool,
    /// CRC-32 and length of the text of every segment so far.
    crc: crc32fast::Hasher,
    len: u64,
    segment: Option<Segment>,
    ended: bool,
}

/// The exposition as an iterator of chunks: plain text, or (see
/// [`Exposition::gzip`]) a gzip stream.
pub struct Exposition {
    published: Arc<Published>,
    head: String,
    self_metrics: String,
    now: f64,
    per_task: bool,
    /// The families served (`--metric-allowlist`, `--metric-denylist`).
    families: FamilyFilter,
    staleness: Staleness,
    cursor: Cursor,
    /// Size at which a chunk is handed over: [`CHUNK_BYTES`], smaller in tests.
    chunk_bytes: usize,
    gzip: Option<Gzip>,
}

/// A piece of plain text of one segment: a per-task family's, the name
/// families' (both kept, by their index among the kept segments), or one
/// of the two rendered by each scrape (`None`).
struct Piece {
    family: Option<usize>,
    text: Bytes,
    /// The family's last piece.
    last: bool,
}

impl Exposition {
    /// Starts a scrape at `now`. The self metrics and the aggregate families
    /// are rendered at once; the per-task families as the chunks are taken.
    pub fn new(
        published: Arc<Published>,
        exporter: &ExporterMetrics,
        options: &ExpositionSettings,
        now: SystemTime,
    ) -> Exposition {
        let now = unix_seconds(now);
        let mut head = String::with_capacity(16 * 1024);
        render_health(&mut head, &published, options);
        render_counts(
            &mut head,
            &published,
            now,
            &options.staleness,
            &options.families,
        );
        let mut self_metrics = String::with_capacity(16 * 1024);
        exporter.encode(&mut self_metrics);
        Exposition {
            published,
            head,
            self_metrics,
            now,
            per_task: options.per_task_metrics,
            families: options.families,
            staleness: options.staleness,
            cursor: Cursor::Head,
            chunk_bytes: CHUNK_BYTES,
            gzip: None,
        }
    }

    /// Makes the chunks one gzip member (RFC 1952) that decodes to the
    /// plain body. Its deflate stream is a sequence of segments, one for the
    /// health and aggregate families, one for the name families, one for
    /// the exporter's own metrics and one per per-task family, each
    /// compressed on its own: those that do not change until the next poll
    /// (the names, and every per-task family but the ages) are compressed
    /// by the first gzip scrape of a snapshot, kept with its store (see
    /// [`SeriesStore::segments`]) and copied by the later ones; the others
    /// are compressed by every scrape. One member, not one per segment:
    /// some clients (curl) stop after the first member.
    pub fn gzip(mut self) -> Exposition {
        self.gzip = Some(Gzip::default());
        self
    }

    /// The whole body in one string (for tests and benchmarks). The chunks
    /// are joined before they are read as text: one may end inside a
    /// character.
    pub fn into_string(self) -> String {
        let body: Vec<u8> = self.flat_map(|chunk| chunk.to_vec()).collect();
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The next piece of plain text, at most one family's.
    fn piece(&mut self) -> Option<Piece> {
        match self.cursor {
            Cursor::Done => None,
            Cursor::Head => {
                self.cursor = Cursor::Names { at: 0 };
                Some(Piece {
                    family: None,
                    text: Bytes::from(std::mem::take(&mut self.head)),
                    last: true,
                })
            }
            // The name families, rendered when the store was built, at
            // most a chunk at a time, without a copy.
            Cursor::Names { at } => {
                let names = self
                    .published
                    .store
                    .as_ref()
                    .map(|s| s.names_text().clone());
                let names = names.filter(|n| at < n.len());
                let Some(names) = names else {
                    self.cursor = Cursor::SelfMetrics;
                    return self.piece();
                };
                let end = at.saturating_add(self.chunk_bytes.max(1)).min(names.len());
                let last = end == names.len();
                self.cursor = if last {
                    Cursor::SelfMetrics
                } else {
                    Cursor::Names { at: end }
                };
                Some(Piece {
                    family: Some(NAMES_SEGMENT),
                    text: names.slice(at..end),
                    last,
                })
            }
            Cursor::SelfMetrics => {
                self.cursor = self.first_task_family();
                Some(Piece {
                    family: None,
                    text: Bytes::from(std::mem::take(&mut self.self_metrics)),
                    last: true,
                })
            }
            Cursor::Tasks { family, mut task } => {
                let Some(store) = &self.published.store else {
                    self.cursor = Cursor::Done;
                    return None;
                };
                let mut out = String::with_capacity(self.chunk_bytes.min(CHUNK_BYTES) + 4096);
                let Some(def) = FAMILIES.get(family) else {
                    self.cursor = Cursor::Done;
                    return None;
                };
                if task == 0 {
                    family_header(&mut out, def.name, def.kind.as_str(), &def.help());
                }
                let table: &SeriesStore = store;
                // A family no task has a series in: its rows are not read.
                if table.series_in(family) == 0 {
                    task = table.len();
                }
                let at = ScrapeContext {
                    now: self.now,
                    staleness: &self.staleness,
                };
                let slot = SLOTS.get(family).copied().flatten().unwrap_or_default();
                // At least one task after the header: a chunk ending between
                // a header and its first series would have the next chunk
                // write the header again.
                while let Some(series) = table.get(task) {
                    render_series(&mut out, def, slot, &series, &at);
                    task += 1;
                    if out.len() >= self.chunk_bytes {
                        break;
                    }
                }
                let last = task >= table.len();
                self.cursor = if last {
                    next_family(&self.families, family + 1)
                } else {
                    Cursor::Tasks { family, task }
                };
                Some(Piece {
                    family: Some(family),
                    text: Bytes::from(out),
                    last,
                })
            }
        }
    }

    /// Where the per-task families start: the first one served, or the end.
    fn first_task_family(&self) -> Cursor {
        if self.per_task && self.published.store.is_some() {
            next_family(&self.families, 0)
        } else {
            Cursor::Done
        }
    }

    /// When the cursor is at the start of a segment the store keeps (a
    /// family fixed per poll, or the name families'), its index and where
    /// the cursor goes once it is copied.
    fn kept_segment_here(&self) -> Option<(usize, Cursor)> {
        match self.cursor {
            Cursor::Tasks { family, task: 0 } if fixed_per_poll(family) => {
                Some((family, next_family(&self.families, family + 1)))
            }
            Cursor::Names { at: 0 } => {
                let names = self.published.store.as_ref()?.names_text();
                (!names.is_empty()).then_some((NAMES_SEGMENT, Cursor::SelfMetrics))
            }
            _ => None,
        }
    }

    /// The next chunk of the gzip stream.
    fn next_gzip(&mut self) -> Option<Bytes> {
        let mut out = Vec::new();
        let gzip = self.gzip.as_mut()?;
        if !gzip.header_sent {
            gzip.header_sent = true;
            out.extend_from_slice(&GZIP_HEADER);
        }
        loop {
            let here = self.kept_segment_here();
            let gzip = self.gzip.as_mut()?;
            if gzip.ended {
                return (!out.is_empty()).then(|| Bytes::from(out));
            }
            if let (Some((family, after)), None) = (here, &gzip.segment) {
                let cache = self.published.store.as_ref().map(|s| &s.segments);
                if let Some(block) = cache.and_then(|c| c.get(family)) {
                    if let Some((crc, len)) = block_crc(block) {
                        gzip.crc
                            .combine(&crc32fast::Hasher::new_with_initial_len(crc, len));
                        gzip.len += len;
                        self.cursor = after;
                        let block = block.slice(BLOCK_PREFIX..);
                        if out.is_empty() {
                            return Some(block);
                        }
                        out.extend_from_slice(&block);
                        return Some(Bytes::from(out));
                    }
                }
                let claimed = cache.is_some_and(|c| c.claim(family));
                gzip.segment = Some(Segment::new(Some(family), claimed));
            }
            let Some(piece) = self.piece() else {
                // The end of the body: end the deflate stream and the member.
                let gzip = self.gzip.as_mut()?;
                gzip.ended = true;
                out.extend_from_slice(&DEFLATE_END);
                out.extend_from_slice(&gzip.crc.clone().finalize().to_le_bytes());
                out.extend_from_slice(&(gzip.len as u32).to_le_bytes());
                return Some(Bytes::from(out));
            };
            let gzip = self.gzip.as_mut()?;
            let mut segment = gzip
                .segment
                .take()
                .unwrap_or_else(|| Segment::new(piece.family, false));
            // Writing to a Vec cannot fail.
            let _ = segment.encoder.write_all(&piece.text);
            segment.crc.update(&piece.text);
            segment.len += piece.text.len() as u64;
            if piece.last {
                // A sync flush: byte-aligned, and the stream goes on.
                let _ = segment.encoder.flush();
            }
            let compressed = std::mem::take(segment.encoder.get_mut());
            if let Some(stored) = &mut segment.stored {
                stored.extend_from_slice(&compressed);
            }
            out.extend_from_slice(&compressed);
            if piece.last {
                gzip.crc.combine(&segment.crc);
                gzip.len += segment.len;
                if let (Some(mut block), Some(family)) = (segment.stored.take(), segment.family) {
                    if let Some(store) = &self.published.store {
                        // The prefix in place, and no spare capacity: the
                        // block is held until the next poll.
                        block[..4].copy_from_slice(&segment.crc.clone().finalize().to_le_bytes());
                        block[4..BLOCK_PREFIX].copy_from_slice(&segment.len.to_le_bytes());
                        block.shrink_to_fit();
                        store.segments.set(family, Bytes::from(block));
                    }
                }
            } else {
                gzip.segment = Some(segment);
            }
            // Compressed output is about a tenth of the text: a chunk of
            // it is handed over at a sixteenth of the plain chunk size.
            let flush_at = (self.chunk_bytes / 16).clamp(1, CHUNK_BYTES / 16);
            if out.len() >= flush_at || (piece.last && !out.is_empty()) {
                return Some(Bytes::from(out));
            }
        }
    }
}

/// The CRC-32 and length of the text a cached block compresses.
fn block_crc(block: &Bytes) -> Option<(u32, u64)> {
    let crc = u32::from_le_bytes(block.get(..4)?.try_into().ok()?);
    let len = u64::from_le_bytes(block.get(4..BLOCK_PREFIX)?.try_into().ok()?);
    Some((crc, len))
}

impl Drop for Exposition {
    /// A scrape that ends half-way through a segment it claimed (a family's
    /// or the names'; the scraper hung up) gives the claim back for the
    /// next scrape.
    fn drop(&mut self) {
        if let Some(Segment {
            family: Some(family),
            stored: Some(_),
            ..
        }) = self.gzip.as_ref().and_then(|g| g.segment.as_ref())
        {
            if let Some(store) = &self.published.store {
                store.segments.release(*family);
            }
        }
    }
}

impl Iterator for Exposition {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.gzip.is_some() {
            return self.next_gzip();
        }
        // A piece can be empty: the end of a family none of whose
        // remaining tasks has a series.
        loop {
            let piece = self.piece()?;
            if !piece.text.is_empty() {
                return Some(piece.text);
            }
        }
    }
}

/// Writes task `series`'s sample of family `def` (whose kept value, if
/// any, is in `slot`), if it has one. Whether it has one is known from its
/// rows before any of its text is read.
fn render_series(
    out: &mut String,
    def: &Family,
    slot: usize,
    series: &TaskSeries,
    at: &ScrapeContext,
) {
    if !series.has_series() {
        return;
    }
    let sample = match def.value {
        // One line per evaluator, from the label values the store keeps.
        Value::PerEvaluator => {
            series.write_evaluator_series(out, def.name);
            return;
        }
        Value::One => Sample::Text(" 1\n"),
        Value::Task(_) if series.has_value(slot) => Sample::Text(series.value(slot)),
        Value::Run(_) if series.has_run_value(slot) => Sample::Text(series.run_value(slot)),
        Value::AtScrape { present, value, .. } => {
            let input = series.input();
            if !present(input) {
                return;
            }
            Sample::Number(value(input, at))
        }
        _ => return,
    };
    out.push_str(def.name);
    out.push('{');
    match def.labels {
        Labels::Task => out.push_str(series.labels()),
        Labels::Info => {
            out.push_str(series.labels());
            series.write_info_labels(out);
        }
        Labels::RunStatus => {
            out.push_str(series.labels());
            let status = series.run_status();
            if !status.is_empty() {
                out.push(',');
                out.push_str(status);
            }
        }
        Labels::Evaluator => {}
    }
    out.push('}');
    match sample {
        Sample::Text(text) => out.push_str(text),
        Sample::Number(v) => text::value(out, v),
    }
}

/// A sample's value: its text, rendered when the store was built, or a
/// number computed by this scrape.
enum Sample<'a> {
    Text(&'a str),
    Number(f64),
}

/// `arize_up`, the time of the last complete poll and the poll interval.
fn render_health(out: &mut String, published: &Published, options: &ExpositionSettings) {
    family_header(
        out,
        "arize_up",
        "gauge",
        "1 if the last poll of the Arize API succeeded, else 0 (0 until the first poll ends).",
    );
    sample(out, "arize_up", "", if published.up() { 1.0 } else { 0.0 });
    family_header(
        out,
        "arize_exporter_last_success_timestamp_seconds",
        "gauge",
        "Unix time at which the last complete poll of the Arize API ended; absent before the first.",
    );
    if let Some(snapshot) = &published.snapshot {
        sample(
            out,
            "arize_exporter_last_success_timestamp_seconds",
            "",
            unix_seconds(snapshot.completed_at),
        );
    }
    family_header(
        out,
        "arize_exporter_poll_interval_seconds",
        "gauge",
        "Time between the starts of two polls (--poll-interval), in seconds.",
    );
    sample(
        out,
        "arize_exporter_poll_interval_seconds",
        "",
        options.poll_interval.as_secs_f64(),
    );
    family_header(
        out,
        "arize_exporter_stale_after_seconds",
        "gauge",
        "Age of the last run beyond which a continuous task whose run interval is not known is stale, and a one-off task's run in progress is stuck (--stale-after), in seconds.",
    );
    sample(
        out,
        "arize_exporter_stale_after_seconds",
        "",
        options.staleness.after.as_secs_f64(),
    );
    family_header(
        out,
        "arize_exporter_run_error_ratio_threshold",
        "gauge",
        "Share of a finished run's items in error above which the run counts as erroring (--run-error-ratio-threshold); the rules, the dashboard and the landing page take it from here.",
    );
    sample(
        out,
        "arize_exporter_run_error_ratio_threshold",
        "",
        options.run_error_ratio_threshold,
    );
}

/// `arize_tasks`, `arize_tasks_never_run`, `arize_tasks_last_run_unreadable`
/// and `arize_tasks_stale`, and with the runs read `arize_tasks_last_run_failed`
/// and `arize_task_runs_total`: those `families` serves. Absent before the
/// first complete poll, when nothing is known (zeros would read as "nothing
/// wrong").
fn render_counts(
    out: &mut String,
    published: &Published,
    now: f64,
    staleness: &Staleness,
    families: &FamilyFilter,
) {
    let Some(snapshot) = published.snapshot.as_deref() else {
        return;
    };
    type Pick = fn(&crate::snapshot::Counts) -> u64;
    let mut labels = String::new();
    for (name, help, pick) in [
        (
            "arize_tasks",
            "Number of Arize tasks by type and mode (continuous or one_off).",
            (|c| c.tasks) as Pick,
        ),
        (
            "arize_tasks_never_run",
            "Number of Arize tasks that never ran (last_run_at is null), by type and mode.",
            |c| c.never_run,
        ),
        (
            "arize_tasks_last_run_unreadable",
            "Number of Arize tasks whose last_run_at is not a readable time (last run unknown), by type and mode.",
            |c| c.last_run_unreadable,
        ),
    ] {
        if !families.count(name) {
            continue;
        }
        family_header(out, name, "gauge", &format!("{help} {FROM_CACHE}"));
        for ((task_type, mode), counts) in &snapshot.counts {
            labels.clear();
            label(&mut labels, "task_type", task_type, true);
            label(&mut labels, "mode", mode.as_str(), false);
            sample(out, name, &labels, pick(counts) as f64);
        }
    }
    if families.count("arize_tasks_stale") {
        render_stale(out, published, snapshot, now, staleness);
    }
    if !snapshot.task_runs {
        return;
    }
    if families.count("arize_tasks_last_run_failed") {
        family_header(
            out,
            "arize_tasks_last_run_failed",
            "gauge",
            &format!("Tasks whose newest finished run read (GET /v2/tasks/{{task_id}}/runs) failed, by type. {FROM_CACHE}"),
        );
        for (task_type, count) in &snapshot.last_run_failed {
            labels.clear();
            label(&mut labels, "task_type", task_type, true);
            sample(out, "arize_tasks_last_run_failed", &labels, *count as f64);
        }
    }
    if let Some(store) = &published.store {
        let [stuck, lagging] = store.trouble_counts(now);
        for (name, help, counts) in [
            (
                "arize_tasks_stuck",
                format!("Tasks whose newest run read (GET /v2/tasks/{{task_id}}/runs) is still pending or running and started longer ago than the task's stale threshold (--stale-after, {}, for a one-off task), by type; computed at scrape time from the run data of the last complete poll.", humantime::format_duration(staleness.after)),
                stuck,
            ),
            (
                "arize_tasks_lagging",
                "Continuous tasks that are not stale but whose newest evaluated data (data_end_time of the newest completed run) is older than their stale threshold, by type: they run on time over old data; computed at scrape time from the run data of the last complete poll.".to_owned(),
                lagging,
            ),
        ] {
            if !families.count(name) {
                continue;
            }
            family_header(out, name, "gauge", &help);
            for (task_type, count) in counts {
                labels.clear();
                label(&mut labels, "task_type", task_type, true);
                sample(out, name, &labels, count as f64);
            }
        }
    }
    if families.count("arize_task_runs_total") {
        family_header(
            out,
            "arize_task_runs_total",
            "counter",
            "Finished runs (GET /v2/tasks/{task_id}/runs) this process has seen, by task type and final status (completed, failed, cancelled); after a restart the runs read first count again, and runs that fell between two reads beyond the 20 read are not seen. Counted by each complete poll; served from the last complete poll of the Arize API.",
        );
        for ((task_type, status), count) in &snapshot.runs_total {
            labels.clear();
            label(&mut labels, "task_type", task_type, true);
            label(&mut labels, "status", status, false);
            sample(out, "arize_task_runs_total", &labels, *count as f64);
        }
    }
}

/// `arize_tasks_stale`, counted at `now` (a walk over every task's row).
fn render_stale(
    out: &mut String,
    published: &Published,
    snapshot: &crate::snapshot::TaskSnapshot,
    now: f64,
    staleness: &Staleness,
) {
    let mut labels = String::new();
    family_header(
        out,
        "arize_tasks_stale",
        "gauge",
        &format!(
            "Continuous tasks that never ran or whose last run is older than their stale threshold (arize_task_stale_threshold_seconds: --stale-after-intervals, {}, times the task's run interval, at least --stale-after-min, {}, when the interval is known; --stale-after, {}, otherwise), by type; computed at scrape time from the cached last_run_at of the last complete poll.",
            staleness.after_intervals,
            humantime::format_duration(staleness.min),
            humantime::format_duration(staleness.after)
        ),
    );
    let stale = match &published.store {
        Some(store) => store.stale_counts(now, staleness),
        None => snapshot.stale_counts(now, staleness),
    };
    for (task_type, count) in stale {
        labels.clear();
        label(&mut labels, "task_type", task_type, true);
        sample(out, "arize_tasks_stale", &labels, count as f64);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::arize::field::FieldWarnings;
    use crate::arize::tasks::Task;
    use crate::config::Settings;
    use crate::snapshot::SnapshotBuilder;
    use crate::state::SharedState;

    /// `n` tasks, each with every per-task value, so that every per-task
    /// family has exactly `n` series (the unreadable one excepted).
    fn published(n: usize) -> Arc<Published> {
        published_with(n, FamilyFilter::default())
    }

    /// [`published`], its store built for `families`.
    fn published_with(n: usize, families: FamilyFilter) -> Arc<Published> {
        let mut warnings = FieldWarnings::default();
        let mut builder = SnapshotBuilder::new(false, &mut warnings);
        let tasks = (0..n)
            .map(|k| {
                serde_json::from_value::<Task>(serde_json::json!({
                    "id": format!("task-{k}"),
                    "name": format!("Task number {k}"),
                    "type": "TEMPLATE_EVALUATION",
                    "is_continuous": true,
                    "sampling_rate": 0.5,
                    "evaluators": [{}],
                    "last_run_at": "2026-03-01T14:30:00Z",
                    "created_at": "2026-02-01T10:00:00Z",
                    "updated_at": "2026-02-02T10:00:00Z",
                }))
                .expect("a valid task")
            })
            .collect();
        builder.add_page(tasks, None, None);
        let state = SharedState::new(crate::metrics::store::StoreSettings {
            families,
            ..Default::default()
        });
        state.publish_success(Arc::new(builder.finish(SystemTime::now())));
        state.load()
    }

    fn options() -> ExpositionSettings {
        options_with(&[])
    }

    fn options_with(flags: &[&str]) -> ExpositionSettings {
        let args = ["arize-exporter", "--demo"].iter().chain(flags);
        match Settings::from_args(args) {
            Ok(settings) => settings.exposition,
            Err(e) => panic!("{e}"),
        }
    }

    /// Renders with chunks of `chunk_bytes`, returning the chunks.
    fn chunks(published: &Arc<Published>, chunk_bytes: usize) -> Vec<String> {
        let metrics = ExporterMetrics::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut exposition = Exposition::new(published.clone(), &metrics, &options(), now);
        exposition.chunk_bytes = chunk_bytes;
        exposition
            .map(|chunk| String::from_utf8(chunk.to_vec()).expect("UTF-8"))
            .collect()
    }

    /// The task ids of each per-task family, in order.
    fn per_task_series(body: &str) -> BTreeMap<String, Vec<String>> {
        let mut families: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in body.lines().filter(|l| l.starts_with("arize_task_")) {
            let (name, rest) = line.split_once('{').expect("labels");
            let id = rest
                .strip_prefix("task_id=\"")
                .and_then(|r| r.split_once('"'))
                .map(|(id, _)| id.to_owned())
                .expect("task_id first");
            families.entry(name.to_owned()).or_default().push(id);
        }
        families
    }

    /// The body without the process collector's lines, which change from
    /// one render to the next.
    fn stable(body: &str) -> String {
        body.lines()
            .filter(|l| !l.contains("process_"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn every_family_is_complete_whatever_the_chunk_boundaries() {
        let n = 7;
        let published = published(n);
        let whole = stable(&chunks(&published, usize::MAX).concat());
        let ids: Vec<String> = (0..n).map(|k| format!("task-{k}")).collect();
        let expected_families = [
            "arize_task_info",
            "arize_task_last_run_timestamp_seconds",
            "arize_task_seconds_since_last_run",
            "arize_task_sampling_rate",
            "arize_task_evaluators",
            "arize_task_created_timestamp_seconds",
            "arize_task_updated_timestamp_seconds",
            "arize_task_stale_threshold_seconds",
        ];
        let families = per_task_series(&whole);
        assert_eq!(families.len(), expected_families.len(), "{families:?}");
        for family in expected_families {
            assert_eq!(families[family], ids, "{family}");
            assert_eq!(whole.matches(&format!("# TYPE {family} gauge")).count(), 1);
        }
        // From one task per chunk (a boundary after every series, inside
        // and between families and at the very end) to a few per chunk.
        for chunk_bytes in [1, 50, 150, 300, 700, 1000, 2500] {
            let parts = chunks(&published, chunk_bytes);
            assert!(parts.len() > 2, "{chunk_bytes}: {} chunks", parts.len());
            assert!(parts.iter().all(|p| p.ends_with('\n')), "{chunk_bytes}");
            let joined = stable(&parts.concat());
            assert!(joined == whole, "chunks of {chunk_bytes} bytes differ");
        }
    }

    /// Decodes a gzip stream, asserting it is one member: the decoders that
    /// read several (flate2's MultiGzDecoder) and those that stop after the
    /// first (GzDecoder, curl) must agree.
    fn gunzip(chunks: &[Bytes]) -> String {
        use std::io::Read as _;
        let stream: Vec<u8> = chunks.concat();
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&stream[..])
            .read_to_string(&mut text)
            .expect("a gzip stream");
        let mut first = String::new();
        flate2::read::GzDecoder::new(&stream[..])
            .read_to_string(&mut first)
            .expect("a gzip member");
        assert!(first == text, "more than one gzip member");
        text
    }

    fn scrape(published: &Arc<Published>, chunk_bytes: usize, gzip: bool) -> Vec<Bytes> {
        scrape_with(published, &options(), chunk_bytes, gzip)
    }

    fn scrape_with(
        published: &Arc<Published>,
        options: &ExpositionSettings,
        chunk_bytes: usize,
        gzip: bool,
    ) -> Vec<Bytes> {
        let metrics = ExporterMetrics::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut exposition = Exposition::new(published.clone(), &metrics, options, now);
        exposition.chunk_bytes = chunk_bytes;
        if gzip {
            exposition = exposition.gzip();
        }
        exposition.collect()
    }

    /// `published_with` every family, and the names of `n` projects (none
    /// read when 0).
    fn published_with_names(tasks: usize, n: usize) -> Arc<Published> {
        use crate::snapshot::names::{Names, ProjectName};
        let mut warnings = FieldWarnings::default();
        let projects = (0..n)
            .map(|k| {
                let project = ProjectName {
                    name: format!("Projet n°{k}").into(),
                    space_id: "space-1".into(),
                    ..ProjectName::default()
                };
                (format!("p{k}").into(), project)
            })
            .collect();
        // No project: names never read.
        let names = Names {
            projects: (n > 0).then(|| Arc::new(projects)),
            ..Names::default()
        };
        let mut builder = SnapshotBuilder::new(false, &mut warnings).with_names(Arc::new(names));
        let page = (0..tasks)
            .map(|k| {
                serde_json::from_value::<Task>(serde_json::json!({
                    "id": format!("task-{k}"),
                    "project_id": format!("p{k}"),
                }))
                .expect("a valid task")
            })
            .collect();
        builder.add_page(page, None, None);
        let state = SharedState::new(Default::default());
        state.publish_success(Arc::new(builder.finish(SystemTime::now())));
        state.load()
    }

    #[test]
    fn the_name_families_are_served_from_the_store_and_compressed_once() {
        let published = published_with_names(3, 40);
        let store = published.store.as_ref().expect("a store");
        let names = String::from_utf8(store.names_text().to_vec()).unwrap();
        assert!(names.contains(r#"project_name="Projet n°39""#), "{names}");
        for chunk_bytes in [1, 300, usize::MAX] {
            // Slices of the names may end inside a character: the body is
            // read as text once joined.
            let metrics = ExporterMetrics::new();
            let mut exposition =
                Exposition::new(published.clone(), &metrics, &options(), SystemTime::now());
            exposition.chunk_bytes = chunk_bytes;
            let plain = exposition.into_string();
            assert!(!plain.contains('\u{fffd}'), "{chunk_bytes}");
            assert_eq!(plain.matches(names.as_str()).count(), 1, "{chunk_bytes}");
            // After the health and counts, before the exporter's own.
            let at = plain.find(names.as_str()).unwrap();
            assert!(plain[..at].contains("# TYPE arize_tasks gauge"));
            assert!(plain[at..].contains("# TYPE arize_exporter_polls_total"));
        }
        let plain = stable(&chunks(&published, usize::MAX).concat());
        let first = scrape(&published, 300, true);
        assert!(stable(&gunzip(&first)) == plain);
        let kept = store.segments.get(NAMES_SEGMENT).expect("kept");
        let second = scrape(&published, 300, true);
        assert!(stable(&gunzip(&second)) == plain);
        assert!(second.contains(&kept.slice(BLOCK_PREFIX..)), "copied");
        // No names: no segment, and the body is whole.
        let nameless = published_with_names(3, 0);
        assert!(nameless.store.as_ref().unwrap().names_text().is_empty());
        let plain = stable(&chunks(&nameless, 300).concat());
        assert!(stable(&gunzip(&scrape(&nameless, 300, true))) == plain);
        let segments = &nameless.store.as_ref().unwrap().segments;
        assert!(segments.get(NAMES_SEGMENT).is_none());
    }

    #[test]
    fn a_gzip_scrape_decodes_to_the_plain_body_before_and_after_caching() {
        let published = published(9);
        let plain = stable(&chunks(&published, usize::MAX).concat());
        let cache = &published.store.as_ref().expect("a store").segments;
        assert_eq!(cache.bytes(), 0, "nothing compressed before a gzip scrape");
        for chunk_bytes in [1, 300, usize::MAX] {
            let first = scrape(&published, chunk_bytes, true);
            assert!(first.iter().all(|c| !c.is_empty()), "{chunk_bytes}");
            assert!(stable(&gunzip(&first)) == plain, "first, {chunk_bytes}");
            let cached = cache.bytes();
            assert!(cached > 0, "the fixed families are kept");
            let second = scrape(&published, chunk_bytes, true);
            assert!(stable(&gunzip(&second)) == plain, "second, {chunk_bytes}");
            assert_eq!(cache.bytes(), cached, "compressed once per snapshot");
            // Every fixed family is one chunk of the second scrape, copied
            // from the cache; the ages are not among them.
            for family in 0..FAMILIES.len() {
                let block = cache.get(family);
                assert_eq!(block.is_some(), fixed_per_poll(family), "{family}");
                if let Some(block) = block {
                    let deflate = block.slice(BLOCK_PREFIX..);
                    assert!(second.contains(&deflate), "family {family}");
                }
            }
        }
    }

    #[test]
    fn the_ages_are_compressed_at_each_scrape_from_its_own_clock() {
        let published = published(3);
        let metrics = ExporterMetrics::new();
        let age = |secs: u64, gzip: bool| {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let mut e = Exposition::new(published.clone(), &metrics, &options(), now);
            if gzip {
                e = e.gzip();
            }
            let chunks: Vec<Bytes> = e.collect();
            let body = if gzip {
                gunzip(&chunks)
            } else {
                String::from_utf8(chunks.concat()).expect("UTF-8")
            };
            body.lines()
                .find(|l| l.starts_with("arize_task_seconds_since_last_run{"))
                .map(|l| l.rsplit(' ').next().unwrap_or("").to_owned())
                .expect("an age")
        };
        let start = 1_772_375_400; // 2026-03-01T14:30:00Z, the tasks' last run
        assert_eq!(age(start + 10, true), "10");
        assert_eq!(age(start + 20, true), "20", "not the cached age");
        assert_eq!(age(start + 20, false), "20");
    }

    #[test]
    fn a_scrape_dropped_half_way_leaves_the_block_to_the_next_one() {
        // Enough tasks that deflate hands out output before a family ends.
        let published = published(20_000);
        let plain = stable(&chunks(&published, usize::MAX).concat());
        let metrics = ExporterMetrics::new();
        let mut dropped =
            Exposition::new(published.clone(), &metrics, &options(), SystemTime::now()).gzip();
        dropped.chunk_bytes = 100;
        // Chunks until one ends inside a family whose segment this scrape
        // claimed (how soon depends on how much deflate buffers).
        let mut half_way = None;
        for _ in 0..10_000 {
            if dropped.next().is_none() {
                break;
            }
            if let Some(Segment {
                family: Some(family),
                stored: Some(_),
                ..
            }) = dropped.gzip.as_ref().and_then(|g| g.segment.as_ref())
            {
                half_way = Some(*family);
                break;
            }
        }
        let family = half_way.expect("a scrape stopped in a claimed family");
        drop(dropped);
        let cache = &published.store.as_ref().expect("a store").segments;
        assert!(cache.get(family).is_none());
        let full = scrape(&published, 100, true);
        assert!(stable(&gunzip(&full)) == plain);
        assert!(cache.get(family).is_some(), "claimed again");
    }

    /// The families of a body (their `# TYPE` lines).
    fn families_of(body: &str) -> Vec<String> {
        body.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_denied_family_is_neither_kept_nor_served_nor_compressed() {
        let denied = [
            "arize_task_sampling_rate",
            "arize_task_seconds_since_last_run",
            "arize_task_info",
            "arize_tasks_stale",
        ];
        let options = options_with(&["--metric-denylist", &denied.join(",")]);
        let full = published(40);
        let lean = published_with(40, options.families);
        let (full_store, lean_store) = (full.store.as_ref().unwrap(), lean.store.as_ref().unwrap());
        // No info labels, no sampling rate: less text kept.
        assert!(lean_store.text_bytes() < full_store.text_bytes());
        let mut info = String::new();
        lean_store.get(0).unwrap().write_info_labels(&mut info);
        assert_eq!(info, "");
        // Not rendered at all: no value text, no series counted.
        let rate = FAMILIES
            .iter()
            .position(|f| f.name == "arize_task_sampling_rate")
            .unwrap();
        let slot = SLOTS[rate].unwrap();
        assert_eq!(full_store.get(0).unwrap().value(slot), " 0.5\n");
        assert_eq!(lean_store.get(0).unwrap().value(slot), "");
        assert_eq!(
            (full_store.series_in(rate), lean_store.series_in(rate)),
            (40, 0)
        );
        let plain =
            String::from_utf8(scrape_with(&lean, &options, usize::MAX, false).concat()).unwrap();
        let served = families_of(&plain);
        for name in denied {
            assert!(!served.iter().any(|s| s == name), "{name} served");
            let sample = |l: &&str| {
                l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))
            };
            assert!(!plain.lines().any(|l| sample(&l)), "{name} sampled");
        }
        let mut expected = families_of(&chunks(&full, usize::MAX).concat());
        expected.retain(|n| !denied.contains(&n.as_str()));
        assert_eq!(served, expected);
        for chunk_bytes in [1, usize::MAX] {
            let body = scrape_with(&lean, &options, chunk_bytes, true);
            assert!(stable(&gunzip(&body)) == stable(&plain), "{chunk_bytes}");
        }
        // The denied fixed families have no segment kept.
        let cache = &lean_store.segments;
        for (k, family) in FAMILIES.iter().enumerate() {
            let kept = cache.get(k).is_some();
            assert_eq!(
                kept,
                family.fixed_per_poll() && !denied.contains(&family.name),
                "{}",
                family.name
            );
        }
    }

    #[test]
    fn an_allowlist_serves_its_families_and_the_health_ones_only() {
        let options = options_with(&["--metric-allowlist", "arize_task_info,arize_tasks"]);
        let published = published_with(5, options.families);
        let body = String::from_utf8(scrape_with(&published, &options, usize::MAX, false).concat())
            .unwrap();
        let served = families_of(&body);
        assert!(served.iter().all(|n| n == "arize_task_info"
            || n == "arize_tasks"
            || n == "arize_up"
            || n.starts_with("arize_exporter_")
            || n.starts_with("process_")));
        for name in ["arize_task_info", "arize_tasks", "arize_up"] {
            assert!(served.iter().any(|n| n == name), "{name} missing");
        }
        assert_eq!(body.matches("\narize_task_info{").count(), 5);
    }
}
