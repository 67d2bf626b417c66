//! `sidebyside report`: read results documents, merge them by machine, compare them with a
//! baseline, and render them; and [`write_all`], which writes every format into a folder
//! (`verify --out DIR`, `bench --out DIR`), each file atomically.

use super::baseline::ChangeRow;
use super::{Format, Report};
use crate::ground::files::write_bytes_atomically;
use crate::results::{Results, RESULTS_SCHEMA_VERSION};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: not a sidebyside results document: {message} \
         (write one with `sidebyside verify --format json` or `--out DIR`)"
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: schema_version {found} cannot be read by this sidebyside, which reads version \
         {supported}: render it with the sidebyside that wrote it"
    )]
    Version {
        path: PathBuf,
        found: String,
        supported: u32,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write the results there: {reason}")]
    OutDir { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
}

impl ReportError {
    /// Errors in what the user gave (exit status 2), as opposed to failures to write.
    pub fn is_usage(&self) -> bool {
        !matches!(self, ReportError::Write { .. })
    }
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub documents: Vec<PathBuf>,
    pub baseline: Option<PathBuf>,
    pub format: Format,
    /// Write here (atomically) instead of standard output.
    pub output: Option<PathBuf>,
    /// Regressions larger than this many percent are returned in [`Rendered::regressions`].
    pub fail_on_regression: Option<f64>,
    /// Also write results.json, report.md, report.html and junit.xml of the one document the
    /// documents make (one document, or the shares of one partitioned run) into this folder.
    pub out: Option<PathBuf>,
}

/// What `report` produced.
pub struct Rendered {
    /// The report, when it goes to standard output (`None` when written to `--output`).
    pub text: Option<String>,
    /// Regressions larger than `--fail-on-regression`, which make the command exit 1.
    pub regressions: Vec<ChangeRow>,
    /// When the documents make one `verify` run (one document, or the shares of one
    /// partitioned run): whether every block passed (nothing failed, timed out, erred or was
    /// interrupted), for `--fail-on-failure`.
    pub verify_passed: Option<bool>,
}

/// Writes a report atomically, readable by others like any file a command writes (the
/// temporary file it is renamed from is private).
fn write_report(path: &Path, text: &str) -> Result<(), ReportError> {
    let error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    write_bytes_atomically(path, text.as_bytes()).map_err(error)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(error)
}

/// Reads a results document, with an error naming the file, line and problem.
pub fn read_document(path: &Path) -> Result<Results, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |error: serde_json::Error| ReportError::Parse {
        path: path.to_path_buf(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(parse_error)?;
    match value.get("schema_version") {
        Some(version) if version.as_u64() == Some(u64::from(RESULTS_SCHEMA_VERSION)) => {}
        Some(version) => {
            return Err(ReportError::Version {
                path: path.to_path_buf(),
                found: version.to_string(),
                supported: RESULTS_SCHEMA_VERSION,
            })
        }
        None => {
            return Err(ReportError::Parse {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: "it has no `schema_version` field".to_string(),
            })
        }
    }
    // Parse the text again (not the value) so that errors carry their line and column.
    serde_json::from_str(&text).map_err(parse_error)
}

/// The `report` command.
pub fn report(options: &ReportOptions) -> Result<Rendered, ReportError> {
    if options.documents.is_empty() {
        return Err(ReportError::Usage(
            "give at least one results document (RESULTS.json)".to_string(),
        ));
    }
    if let Some(percent) = options.fail_on_regression {
        if !(percent.is_finite() && percent >= 0.0) {
            return Err(ReportError::Usage(
                "--fail-on-regression takes a percentage, 0 or more".to_string(),
            ));
        }
        if options.baseline.is_none() {
            return Err(ReportError::Usage(
                "--fail-on-regression needs --baseline OLD.json to compare with".to_string(),
            ));
        }
    }
    let documents = options
        .documents
        .iter()
        .map(|path| Ok((path.clone(), read_document(path)?)))
        .collect::<Result<Vec<_>, ReportError>>()?;
    // The shares of a run split with `verify --partition` become the one document of the run.
    let documents = crate::partition::merge(documents).map_err(ReportError::Usage)?;
    if let Some(directory) = &options.out {
        match documents.as_slice() {
            [one] => {
                write_all(directory, one)?;
            }
            _ => {
                return Err(ReportError::Usage(format!(
                    "--out {} writes one run's files, and these {} documents are not one run: \
                     give one results document, or the shares of one `verify --partition` run",
                    directory.display(),
                    documents.len()
                )))
            }
        }
    }
    let baseline = options.baseline.as_deref().map(read_document).transpose()?;
    let report = Report::new(documents.iter().collect(), baseline.as_ref());
    let regressions = options
        .fail_on_regression
        .map(|percent| report.regressions_over(percent))
        .unwrap_or_default();
    let text = match &options.output {
        Some(path) => {
            write_report(path, &options.format.plain_renderer().render(&report))?;
            None
        }
        None => Some(options.format.renderer().render(&report)),
    };
    let verify_passed = match documents.as_slice() {
        [one] if one.command == "verify" => Some(one.summary.all_passed() && !one.interrupted),
        _ => None,
    };
    Ok(Rendered {
        text,
        regressions,
        verify_passed,
    })
}

/// The files [`write_all`] writes, by format.
pub const OUTPUT_FILES: [(&str, Format); 4] = [
    ("results.json", Format::Json),
    ("report.md", Format::Md),
    ("report.html", Format::Html),
    ("junit.xml", Format::Junit),
];

/// Checks, before anything runs, that `directory` can take the output files: it is a folder
/// (created if missing) in which a file can be created. The error names the path and the reason.
pub fn check_out_dir(directory: &Path) -> Result<(), ReportError> {
    let unusable = |reason: String| ReportError::OutDir {
        path: directory.to_path_buf(),
        reason,
    };
    if directory.exists() && !directory.is_dir() {
        return Err(unusable("it exists and is not a folder".to_string()));
    }
    std::fs::create_dir_all(directory)
        .map_err(|error| unusable(format!("cannot create it: {error}")))?;
    tempfile::Builder::new()
        .prefix(".sidebyside-check-")
        .tempfile_in(directory)
        .map(drop)
        .map_err(|error| unusable(format!("cannot write in it: {error}")))
}

/// Writes `results.json`, `report.md`, `report.html` and `junit.xml` into `directory`
/// (created if needed) as one set: every file is first written in full to a temporary file
/// beside it, and only when all are written are they renamed over the old ones. If one cannot
/// be written (a full disk, say), the temporaries are removed, the old files stay as they were,
/// and the error names the file that failed. Returns the paths written.
pub fn write_all(directory: &Path, results: &Results) -> Result<Vec<PathBuf>, ReportError> {
    use std::io::Write;
    check_out_dir(directory)?;
    let report = Report::single(results);
    let mut staged = Vec::new();
    for (name, format) in OUTPUT_FILES {
        let path = directory.join(name);
        let error = |source| ReportError::Write {
            path: path.clone(),
            source,
        };
        if path.is_dir() {
            return Err(error(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "a folder is in the way",
            )));
        }
        let text = format.plain_renderer().render(&report);
        let mut file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .tempfile_in(directory)
            .map_err(error)?;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(error)?;
        file.write_all(text.as_bytes()).map_err(error)?;
        file.as_file().sync_all().map_err(error)?;
        staged.push((path, file));
    }
    let mut written = Vec::new();
    for (path, file) in staged {
        // A rename within one folder does not need space; it fails only if the folder changed
        // under us, and then the files not yet renamed are removed with their temporaries.
        file.persist(&path).map_err(|error| ReportError::Write {
            path: path.clone(),
            source: error.error,
        })?;
        written.push(path);
    }
    Ok(written)
}
