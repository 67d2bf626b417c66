//! The `sidebyside claims` command line: its arguments, and turning a run into output files and
//! an exit status (0 every verdict as the project expects, 1 a verdict contrary to expectation or
//! a claim that could not be checked, 2 a usage or configuration error).

use super::progress;
use super::ExitStatus;
use sidebyside::claims::{check_claims, default_claims_file, unexpected, ClaimsOptions};
use sidebyside::error::Error;
use sidebyside::events::StopPolicy;
use sidebyside::harness::HarnessOptions;
use sidebyside::isolation::IsolationChoice;
use sidebyside::report::Format;
use sidebyside::shutdown::Shutdown;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ClaimsArguments {
    /// The claims file. Default: the project's snippets/claims/claims.json.
    #[arg(long, value_name = "FILE")]
    pub claims: Option<PathBuf>,
    /// Check only this claim (repeat for several). Default: every claim.
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
    /// Output format: the report formats, exactly as `sidebyside report` prints the results
    /// document of this run.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also write results.json, report.md, report.html and junit.xml here, as every command
    /// does, and the claims' own claims.json and claims.md.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run each language's probes on these runtimes (repeatable): node, bun, deno,
    /// python-asyncio, python-uvloop, python-httpx, tokio-multi-thread, tokio-current-thread.
    /// Default: the runtime each probe names.
    #[arg(long = "runtime", value_name = "NAME")]
    pub runtimes: Vec<String>,
    /// Folder of WireMock-format mappings to serve. Default: the project's mock-server/.
    #[arg(long, value_name = "DIR")]
    pub mock: Option<PathBuf>,
    /// How probes reach the mock: their own network namespace, or runtime hooks.
    #[arg(long, value_enum, default_value = "auto")]
    pub isolation: IsolationChoice,
    /// Seconds a probe may run before it is killed with its process tree.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = sidebyside::args::seconds)]
    pub timeout: f64,
    /// How many probes run at once. Probes measure timing, so the default is one at a time.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = sidebyside::args::at_least_one)]
    pub jobs: usize,
    /// Keep each run's temporary directory (spec, output, hook events) for inspection.
    #[arg(long)]
    pub keep_temp: bool,
}

/// Runs the command and returns its exit status.
pub fn run(arguments: ClaimsArguments) -> ExitStatus {
    let timeout = match super::positive_seconds("--timeout", arguments.timeout) {
        Ok(timeout) => timeout,
        Err(status) => return status,
    };
    if arguments.jobs == 0 {
        return super::usage("--jobs must be at least 1");
    }
    let runtimes = match super::runtimes(&arguments.runtimes) {
        Ok(runtimes) => runtimes,
        Err(status) => return status,
    };
    let options = ClaimsOptions {
        file: arguments.claims.unwrap_or_else(default_claims_file),
        only: arguments.only,
        jobs: arguments.jobs,
        runtimes,
        harness: HarnessOptions {
            global_templating: false,
            mock_dir: arguments
                .mock
                .unwrap_or_else(sidebyside::paths::default_mock_dir),
            isolation: arguments.isolation,
            timeout,
            output_cap_bytes: 8 << 20,
            keep_temp: arguments.keep_temp,
            outputs_dir: arguments.out.as_ref().map(|out| out.join("output")),
            cache_dir: sidebyside::paths::cache_dir(),
            limits: sidebyside::launcher::Limits::standard(),
            typecheck: false,
            recording: None,
            syscall_filter: true,
        },
    };
    // --out is checked before anything runs.
    if let Err(status) = super::check_out(arguments.out.as_deref()) {
        return status;
    }
    let runtime = match super::async_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let reporter = progress::for_stderr(arguments.format != Format::Json);
    let outcome = runtime.block_on(async {
        let shutdown = Shutdown::listen(StopPolicy::AbortRuns, reporter.clone())
            .map_err(|error| Error::Other(format!("cannot listen for Ctrl-C: {error}")))?;
        check_claims(&options, shutdown, reporter.clone()).await
    });
    reporter.finish();
    let results = match outcome {
        Ok(results) => results,
        Err(error) => return super::failed(&error),
    };
    // The results reach stdout even when the files cannot be written.
    print!("{}", sidebyside::report::render(arguments.format, &results));
    if let Some(directory) = &arguments.out {
        // The same files as every command's --out, and, under the names `claims` has always
        // written, the same results document and Markdown report once more.
        let plain = |format: Format| {
            format
                .plain_renderer()
                .render(&sidebyside::report::Report::single(&results))
        };
        let extra = [
            ("claims.json".to_string(), plain(Format::Json)),
            ("claims.md".to_string(), plain(Format::Md)),
        ];
        if let Err(status) = super::write_out(directory, &results, &extra) {
            return status;
        }
    }
    if results.interrupted {
        return ExitStatus::Interrupted;
    }
    let unexpected = unexpected(&results);
    if unexpected.is_empty() {
        ExitStatus::Passed
    } else {
        eprintln!(
            "sidebyside: {} verdict(s) not as the project expects: {}",
            unexpected.len(),
            unexpected.join("; ")
        );
        ExitStatus::Failed
    }
}
