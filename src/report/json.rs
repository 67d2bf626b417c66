//! JSON. One document without a baseline renders as itself, exactly as the model serialises
//! it, so `report --format json` of a `verify --format json` document gives the same bytes.
//! Several documents, or a baseline, render as a merged report: the machines with their
//! documents, the baseline, and every figure's change (see docs/reports.md).

use super::baseline::ChangeRow;
use super::model::{Machine, Report};
use super::Render;
use crate::results::Results;
use serde::Serialize;

pub struct Json;

/// Version of the merged-report JSON. Bump on any incompatible change.
pub const MERGED_REPORT_VERSION: u32 = 1;

#[derive(Serialize)]
struct MergedReport<'a> {
    merged_report_version: u32,
    machines: Vec<MachineDocuments<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<MachineDocuments<'a>>,
    changes: Vec<ChangeRow>,
}

#[derive(Serialize)]
struct MachineDocuments<'a> {
    label: &'a str,
    documents: &'a [&'a Results],
}

impl<'a> MachineDocuments<'a> {
    fn of(machine: &'a Machine<'a>) -> Self {
        MachineDocuments {
            label: &machine.label,
            documents: &machine.documents,
        }
    }
}

impl Render for Json {
    fn render(&self, report: &Report<'_>) -> String {
        let single = match report.machines.as_slice() {
            [machine] if machine.documents.len() == 1 && report.baseline.is_none() => {
                Some(machine.documents[0])
            }
            _ => None,
        };
        // Serialising plain data with string keys cannot fail.
        let mut text = match single {
            Some(document) => serde_json::to_string_pretty(document),
            None => serde_json::to_string_pretty(&MergedReport {
                merged_report_version: MERGED_REPORT_VERSION,
                machines: report.machines.iter().map(MachineDocuments::of).collect(),
                baseline: report.baseline.as_ref().map(MachineDocuments::of),
                changes: report.changes(),
            }),
        }
        .unwrap_or_default();
        text.push('\n');
        text
    }
}
