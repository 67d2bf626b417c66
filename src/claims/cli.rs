//! The `sidebyside claims` command line: its arguments, and turning a run into output files and
//! an exit status (0 every verdict as the project expects, 1 a verdict contrary to expectation or
//! a claim that could not be checked, 2 a usage or configuration error).

use super::render::ClaimsFormat;
use super::{check_claims, default_claims_file, unexpected, ClaimsOptions};
use crate::harness::HarnessOptions;
use crate::isolation::IsolationChoice;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ClaimsArguments {
    /// The claims file. Default: the project's snippets/claims/claims.json.
    #[arg(long, value_name = "FILE")]
    pub claims: Option<PathBuf>,
    /// Check only this claim (repeat for several). Default: every claim.
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ClaimsFormat,
    /// Also write the results document (claims.json) and the Markdown table (claims.md) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder of WireMock-format mappings to serve. Default: the project's mock-server/.
    #[arg(long, value_name = "DIR")]
    pub mock: Option<PathBuf>,
    /// How probes reach the mock: their own network namespace, or runtime hooks.
    #[arg(long, value_enum, default_value = "auto")]
    pub isolation: IsolationChoice,
    /// Seconds a probe may run before it is killed with its process tree.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// How many probes run at once. Probes measure timing, so the default is one at a time.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Keep each run's temporary directory (spec, output, hook events) for inspection.
    #[arg(long)]
    pub keep_temp: bool,
}

/// Runs the command and returns its exit status.
pub fn run(arguments: ClaimsArguments) -> u8 {
    if !(arguments.timeout.is_finite() && arguments.timeout > 0.0) {
        eprintln!("sidebyside: --timeout must be a positive number of seconds");
        return 2;
    }
    if arguments.jobs == 0 {
        eprintln!("sidebyside: --jobs must be at least 1");
        return 2;
    }
    let options = ClaimsOptions {
        file: arguments.claims.unwrap_or_else(default_claims_file),
        only: arguments.only,
        jobs: arguments.jobs,
        harness: HarnessOptions {
            mock_dir: arguments
                .mock
                .unwrap_or_else(crate::paths::default_mock_dir),
            isolation: arguments.isolation,
            timeout: Duration::from_secs_f64(arguments.timeout),
            output_cap_bytes: 8 << 20,
            keep_temp: arguments.keep_temp,
            cache_dir: crate::paths::cache_dir(),
            limits: crate::launcher::Limits::standard(),
        },
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sidebyside: cannot start the async runtime: {error}");
            return 2;
        }
    };
    let results = match runtime.block_on(check_claims(&options)) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("sidebyside: {error}");
            return if error.is_interrupted() {
                130
            } else if error.is_usage() {
                2
            } else {
                1
            };
        }
    };
    print!("{}", arguments.format.render(&results));
    if let Some(directory) = &arguments.out {
        if let Err(error) = write_out(directory, &results) {
            eprintln!("sidebyside: {error}");
            return 2;
        }
    }
    let unexpected = unexpected(&results);
    if unexpected.is_empty() {
        0
    } else {
        eprintln!(
            "sidebyside: {} verdict(s) not as the project expects: {}",
            unexpected.len(),
            unexpected.join("; ")
        );
        1
    }
}

fn write_out(directory: &Path, results: &crate::results::Results) -> Result<(), String> {
    std::fs::create_dir_all(directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let json = directory.join("claims.json");
    crate::ground::files::write_atomically(&json, results)
        .map_err(|error| format!("cannot write {}: {error}", json.display()))?;
    let markdown = directory.join("claims.md");
    crate::ground::files::write_bytes_atomically(
        &markdown,
        ClaimsFormat::Md.render(results).as_bytes(),
    )
    .map_err(|error| format!("cannot write {}: {error}", markdown.display()))?;
    eprintln!(
        "sidebyside: wrote {} and {}",
        json.display(),
        markdown.display()
    );
    Ok(())
}
