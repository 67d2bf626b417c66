//! The `sidebyside` command line. Everything it does lives in the library; this file and
//! [`cli`] only parse and validate arguments, call it with a reporter and a shutdown, print, write
//! `--out`, and choose the exit status ([`cli::ExitStatus`]: 0 all passed, 1 something failed,
//! 2 usage or configuration error, 130 interrupted).

mod cli;

use clap::{Parser, Subcommand};
use cli::{progress, ExitStatus};
use sidebyside::events::StopPolicy;
use sidebyside::harness::HarnessOptions;
use sidebyside::isolation::IsolationChoice;
use sidebyside::launcher::Limits;
use sidebyside::report::Format;
use sidebyside::shutdown::Shutdown;
use sidebyside::verify::VerifyOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sidebyside",
    version,
    about = "Run the same async example in JavaScript, Python and Rust side by side against a local mock API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every snippet against the mock and check that each works and that groups agree.
    ///
    /// A snippet is a JavaScript or Python file (.js, .mjs, .cjs, .py), a cargo package (a Rust
    /// program), or a fenced code block of a Markdown document (.md) whose info string names
    /// javascript (js, mjs, node), python (py, python3) or rust (rs). A text, output or
    /// console block right below a code block is the output it must print (see the README's
    /// "Printed output"); other blocks (bash, json, text, none) are listed as not run. A
    /// `<!-- sidebyside: skip -->` comment on the line before a block skips it; `group=NAME`,
    /// `expect-failure`, `expected` and `output` are the other directives (see the README).
    Verify {
        /// Markdown documents (.md), snippet files (.js, .mjs, .cjs, .py), cargo package
        /// directories, or directories searched for those. Default: the project's snippets/.
        paths: Vec<PathBuf>,
        /// Folder of WireMock-format mappings to serve. Default: the project's mock-server/.
        #[arg(long, value_name = "DIR")]
        mock: Option<PathBuf>,
        /// How snippets reach the mock: their own network namespace, or runtime hooks.
        #[arg(long, value_enum, default_value = "auto")]
        isolation: IsolationChoice,
        /// Seconds a snippet may run before it is killed with its process tree.
        #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = sidebyside::args::seconds)]
        timeout: f64,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// How many snippets run at once. Default: the number of CPUs.
        #[arg(long, short = 'j', value_name = "N", value_parser = sidebyside::args::at_least_one)]
        jobs: Option<usize>,
        /// Bytes of each snippet's stdout and stderr that are kept.
        #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
        max_output: u64,
        /// Keep each run's temporary directory (spec, output, hook events) for inspection.
        #[arg(long)]
        keep_temp: bool,
        /// Resident memory a snippet's process tree may use, in MiB (0: no limit).
        #[arg(long, value_name = "MIB", default_value_t = Limits::DEFAULT_MEMORY_MIB, value_parser = sidebyside::args::mebibytes)]
        max_memory: u64,
        /// Processes a snippet's tree may have at once (0: no limit).
        #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_PROCESSES)]
        max_processes: u32,
        /// CPU seconds each process of a snippet may use (0: no limit).
        #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT_CPU_SECONDS)]
        max_cpu: u64,
        /// Open files each process of a snippet may have (0: no limit).
        #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_OPEN_FILES)]
        max_open_files: u64,
        /// Also write results.json, report.md, report.html and junit.xml into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Name this machine or CI job in reports that merge several results documents.
        #[arg(long, value_name = "NAME")]
        label: Option<String>,
        /// Run each language's snippets on these runtimes, side by side (repeatable): node, bun,
        /// deno, python-asyncio, python-uvloop, python-httpx, tokio-multi-thread,
        /// tokio-current-thread. A language none of them runs uses its default (node, python,
        /// rust).
        #[arg(long = "runtime", value_name = "NAME")]
        runtimes: Vec<String>,
        /// Every block must check something: a block that ran cleanly with nothing to compare
        /// ("nothing to check") or that cannot run here fails the run.
        #[arg(long)]
        require_check: bool,
        /// Render every mapping's response as a template, as WireMock's
        /// `--global-response-templating` does (else only mappings with
        /// `"transformers": ["response-template"]`).
        #[arg(long)]
        global_templating: bool,
        /// Write what each block really printed into the output block below it, and the
        /// result its group produced into its `<!-- sidebyside: expected -->` block, where they
        /// differ; nothing else in the page changes. Reports each block it rewrote.
        #[arg(long)]
        update: bool,
        /// Run every page's Python blocks as one session, and its JavaScript blocks as another
        /// (on Node), as if each page said `<!-- sidebyside: session -->`: later blocks see what
        /// earlier ones defined. For pages you cannot edit.
        #[arg(long)]
        session: bool,
        /// Check the types of TypeScript blocks before they run (on Deno, `deno run --check`):
        /// a type error fails its block at DOC:LINE. Needs Deno (`npm install -g deno`).
        #[arg(long)]
        typecheck: bool,
        #[command(flatten)]
        selection: cli::SelectionArguments,
        /// When the paths hold no snippet to run: `fail` (exit status 2) or `pass` (exit 0, an
        /// empty results document), for a pre-commit hook given only pages without code.
        #[arg(long, value_enum, value_name = "WHAT", default_value = "fail")]
        no_snippets: cli::NoSnippets,
        /// Rerun every block, ignoring the verdict cache (by default a block whose code, setup,
        /// dependencies, runtime, mock and settings did not change reuses its last run, shown
        /// as cached). CI runs on a fresh machine do not need it; use it when something the
        /// cache cannot see changed (a file a snippet reads outside its folder, the network).
        #[arg(long)]
        no_cache: bool,
        /// Verify, then verify again each time a watched document, snippet or mapping is saved
        /// (only what the change affects runs: see the verdict cache); the screen is redrawn
        /// with the verdicts. Ctrl-C stops.
        #[arg(long, conflicts_with_all = ["update", "no_cache"])]
        watch: bool,
    },
    /// Render results documents as a table, Markdown, HTML, JSON or JUnit XML; merge several
    /// (one column per machine); compare with a baseline.
    Report {
        /// Results documents (from `verify --format json`, `--out DIR`, `bench`, `claims`).
        #[arg(required = true, value_name = "RESULTS.json")]
        documents: Vec<PathBuf>,
        /// An older results document: each figure shows its change against it.
        #[arg(long, value_name = "OLD.json")]
        baseline: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Write the report to this file (atomically) instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit 1 when a figure regressed by more than PCT percent (needs --baseline).
        #[arg(long, value_name = "PCT", value_parser = sidebyside::args::percent)]
        fail_on_regression: Option<f64>,
        /// Also write results.json, report.md, report.html and junit.xml into this folder: of
        /// one document, or of the shares of one `verify --partition` run merged into one.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Exit 1 when the documents make one `verify` run (one document, or the shares of one
        /// `verify --partition` run) in which a block failed, timed out, erred or was
        /// interrupted, as `verify` would have; for the merge job of a CI matrix.
        #[arg(long)]
        fail_on_failure: bool,
    },
    /// Check the article's claims by running small probe programs on each runtime.
    Claims(cli::claims::ClaimsArguments),
    /// Serve the mappings on their own, on loopback, to try them with curl; Ctrl-C stops.
    Mock {
        /// Folder of WireMock-format mappings to serve. Default: the project's mock-server/.
        #[arg(long, value_name = "DIR")]
        mock: Option<PathBuf>,
        /// Port on 127.0.0.1 serving every mocked origin, HTTP and HTTPS; 0 picks a free one.
        #[arg(long, value_name = "N", default_value_t = 8080)]
        port: u16,
        /// Render every response as a template, as WireMock's --global-response-templating
        /// (else only responses with "transformers": ["response-template"]).
        #[arg(long)]
        global_templating: bool,
        /// Let mappings proxy (proxyBaseUrl) and send webhooks to hosts off this machine;
        /// without it, only loopback ones load (as in verify, which never allows others).
        #[arg(long)]
        allow_remote_upstream: bool,
        #[command(flatten)]
        serving: sidebyside::mock::ServingArguments,
    },
    /// Proxy every request to an upstream and write a WireMock mapping file per distinct
    /// request into OUT/mappings/, to serve later with `sidebyside mock --mock OUT`. Given
    /// pages, runs their blocks once with every request they make proxied to the upstream
    /// (which must then be on loopback: a snippet's traffic never leaves the machine);
    /// without, proxies requests sent to 127.0.0.1:PORT until Ctrl-C.
    Record {
        /// Markdown pages or snippet files whose blocks make the requests to record.
        paths: Vec<PathBuf>,
        /// The upstream's base URL, e.g. http://127.0.0.1:9000 or https://api.example.com
        /// (its certificate checked against the system's roots; SSL_CERT_FILE is honoured).
        #[arg(long, value_name = "URL")]
        upstream: String,
        /// The folder to write the mappings into (OUT/mappings/, created if needed).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Port on 127.0.0.1 to send requests to; 0 picks a free one.
        #[arg(long, value_name = "N", default_value_t = 8080)]
        port: u16,
        #[command(flatten)]
        serving: sidebyside::mock::ServingArguments,
    },
    /// List every snippet found (files and Markdown code blocks): language, group, origin, and
    /// whether it will run.
    List {
        /// Files, documents or directories. Default: the project's snippets/.
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Folder of WireMock-format mappings, for --changed-since. Default: the project's
        /// mock-server/.
        #[arg(long, value_name = "DIR")]
        mock: Option<PathBuf>,
        #[command(flatten)]
        selection: cli::SelectionArguments,
    },
    /// Measure the scenarios of snippets/bench/scenarios.json on every runtime, after checking
    /// that each program does the work (see docs/bench.md).
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Scenarios to measure (repeatable). Default: the manifest's default suite.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Runtimes to measure on (repeatable): node, bun, deno, python-asyncio, python-uvloop,
    /// python-httpx, tokio-multi-thread, tokio-current-thread. Default: all.
    #[arg(long = "runtime", value_name = "NAME")]
    runtimes: Vec<String>,
    /// Timed runs per runtime and point. Default: as many as fit in --budget, 3 to 30.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Warm-up runs per runtime and point, not counted. Default: 1.
    #[arg(long, value_name = "N")]
    warmup: Option<usize>,
    /// Parameter values to sweep, replacing the manifest's (repeatable), e.g. n=10,100,1000.
    #[arg(long = "param", value_name = "NAME=V1,V2", value_parser = sidebyside::bench::plan::parse_parameter)]
    parameters: Vec<(String, Vec<serde_json::Value>)>,
    /// Every parameter point of the manifest, not just its defaults.
    #[arg(long)]
    full: bool,
    /// Measure this command instead of the scenarios (repeatable; split like a shell would,
    /// run without one), e.g. to compare with hyperfine.
    #[arg(long = "command", value_name = "CMD")]
    commands: Vec<String>,
    /// Folder the results document (results.json) is written to.
    /// Default: target/sidebyside-bench/ of the project.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Scenario manifest. Default: the project's snippets/bench/scenarios.json.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Folder of WireMock-format mappings. Default: the manifest's `mock`, else mock-server/.
    #[arg(long, value_name = "DIR")]
    mock: Option<PathBuf>,
    /// How programs reach the mock: their own network namespace, or runtime hooks.
    #[arg(long, value_enum, default_value = "auto")]
    isolation: IsolationChoice,
    /// Seconds a run may take before it is killed. Default: 120, or a scenario's timeout_s.
    #[arg(long, value_name = "SECS", value_parser = sidebyside::args::seconds)]
    timeout: Option<f64>,
    /// What a scenario point's timed rounds may spend when --runs is not given: a duration
    /// (30, 30s, 500ms, 2m) or rounds (200rounds). Default: 4 s, or 60 s with --precision.
    #[arg(long, value_name = "DURATION|ROUNDS", value_parser = sidebyside::bench::precision::Budget::parse)]
    budget: Option<sidebyside::bench::precision::Budget>,
    /// Run timed rounds until every runtime's ratio to the best is known to ±PCT (95%
    /// interval), e.g. 2%, or until --budget runs out.
    #[arg(long, value_name = "PCT", value_parser = sidebyside::bench::precision::parse_percent, conflicts_with = "runs")]
    precision: Option<f64>,
    /// Shell command run before each run of the --command cases (once for all, or once per
    /// --command in order), outside the measured window.
    #[arg(long, value_name = "CMD")]
    prepare: Vec<String>,
    /// Shell command run after each run of the --command cases (once for all, or once per
    /// --command in order).
    #[arg(long, value_name = "CMD")]
    conclude: Vec<String>,
    /// Also write the results as CSV, one line per runtime and point.
    #[arg(long, value_name = "FILE")]
    export_csv: Option<PathBuf>,
    /// Also write the results in Bencher Metric Format (for `bencher run --adapter json`).
    #[arg(long, value_name = "FILE")]
    export_bmf: Option<PathBuf>,
    /// Also write the results as github-action-benchmark's customSmallerIsBetter JSON.
    #[arg(long, value_name = "FILE")]
    export_github_benchmark: Option<PathBuf>,
    /// Rank by a deterministic measurement instead of time: `instructions` runs every program
    /// under Valgrind (cachegrind) and counts the instructions it executed.
    #[arg(long, value_enum, value_name = "METRIC")]
    metric: Option<BenchMetric>,
    /// Put the programs on other cores than sidebyside's harness and mock, where there are
    /// enough (the bench's noise section says what was done).
    #[arg(long)]
    pin: bool,
    /// Keep the seccomp filter on the measured programs, as verify does. Off by default here:
    /// a filter puts every system call on the kernel's slow path (about 35 ns a call on a
    /// 2-core virtual machine, +25% on a program bound by system calls), which programs timed
    /// by hyperfine do not pay; the namespaces, Landlock and dropped capabilities stay.
    #[arg(long)]
    syscall_filter: bool,
    /// Output format on stdout (the JSON document is always written to --out too).
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Bytes of each run's stdout and stderr that are kept.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    max_output: u64,
    /// Keep each run's temporary directory for inspection.
    #[arg(long)]
    keep_temp: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BenchMetric {
    Instructions,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    // The launcher is this same binary, started for each snippet; it must not build a runtime
    // or parse the user-facing command line.
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if arguments
        .get(1)
        .is_some_and(|argument| argument == "__launch")
    {
        return launch(&arguments[2..]);
    }
    if arguments
        .get(1)
        .is_some_and(|argument| argument == "__zygote")
    {
        let pid_namespaces = arguments
            .get(2)
            .is_some_and(|argument| argument == "pid-namespaces");
        return ExitCode::from(sidebyside::launcher::zygote::main(pid_namespaces) as u8);
    }
    let cli = Cli::parse();
    let code = run(cli);
    // The launcher zygote, if a command started one, waits for its launchers before this
    // process ends: their CPU time is counted as this process's children's.
    sidebyside::launcher::zygote::finish();
    code
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::List {
            paths,
            format,
            mock,
            selection,
        } => {
            let mock = mock.unwrap_or_else(sidebyside::paths::default_mock_dir);
            let selection = match selection.resolve(&mock) {
                Ok(selection) => selection,
                Err(status) => return status.into(),
            };
            // As in verify: a missing path is said once, first; the table lists the other
            // problems, the JSON document all of them.
            let given = !paths.is_empty();
            let (paths, missing) = cli::missing_paths(paths);
            if given && paths.is_empty() {
                return ExitStatus::Usage.into();
            }
            let paths = if paths.is_empty() {
                vec![sidebyside::paths::default_snippets_dir()]
            } else {
                paths
            };
            let (listed, mut problems) = sidebyside::list::list_selected(
                &paths,
                &sidebyside::paths::cache_dir(),
                &selection,
            );
            match format {
                ListFormat::Table => print!("{}", sidebyside::list::table(&listed, &problems)),
                ListFormat::Json => {
                    for problem in &problems {
                        eprintln!("sidebyside: {problem}");
                    }
                    let all: Vec<_> = problems.iter().chain(&missing).collect();
                    println!(
                        "{}",
                        serde_json::json!({ "snippets": listed, "problems": all })
                    );
                }
            }
            problems.extend(missing);
            if problems.is_empty() {
                ExitStatus::Passed
            } else {
                ExitStatus::Usage
            }
            .into()
        }
        Command::Claims(arguments) => cli::claims::run(arguments).into(),
        Command::Mock {
            mock,
            port,
            global_templating,
            allow_remote_upstream,
            serving,
        } => {
            let options = sidebyside::mock::InteractiveOptions {
                mock_dir: mock.unwrap_or_else(sidebyside::paths::default_mock_dir),
                port,
                global_templating,
                remote_upstreams: allow_remote_upstream,
                serving,
            };
            let runtime = match cli::async_runtime() {
                Ok(runtime) => runtime,
                Err(status) => return status.into(),
            };
            match runtime.block_on(sidebyside::mock::serve_interactively(&options)) {
                Ok(()) => ExitStatus::Passed,
                // The mock cannot serve what it was given (a mapping, a port): configuration.
                Err(error) => cli::usage(&error.to_string()),
            }
            .into()
        }
        Command::Record {
            paths,
            upstream,
            out,
            port: _,
            serving: _,
        } if !paths.is_empty() => record_pages(paths, upstream, out).into(),
        Command::Record {
            paths: _,
            upstream,
            out,
            port,
            serving,
        } => {
            let options = sidebyside::mock::RecordOptions {
                upstream,
                out,
                port,
                serving,
            };
            let runtime = match cli::async_runtime() {
                Ok(runtime) => runtime,
                Err(status) => return status.into(),
            };
            match runtime.block_on(sidebyside::mock::record_interactively(&options)) {
                Ok((_, 0)) => ExitStatus::Passed,
                // Some answers could not be written: the recording is incomplete.
                Ok(_) => ExitStatus::Failed,
                Err(error) => cli::usage(&error.to_string()),
            }
            .into()
        }
        Command::Bench(arguments) => bench(arguments),
        Command::Verify {
            paths,
            mock,
            isolation,
            timeout,
            format,
            jobs,
            max_output,
            keep_temp,
            max_memory,
            max_processes,
            max_cpu,
            max_open_files,
            out,
            label,
            runtimes,
            require_check,
            global_templating,
            update,
            session,
            typecheck,
            selection,
            no_snippets,
            no_cache,
            watch,
        } => verify(VerifyArguments {
            paths,
            mock,
            isolation,
            timeout,
            format,
            jobs,
            max_output,
            keep_temp,
            limits: Limits {
                memory_bytes: (max_memory > 0).then_some(max_memory << 20),
                processes: (max_processes > 0).then_some(max_processes),
                cpu_seconds: (max_cpu > 0).then_some(max_cpu),
                open_files: (max_open_files > 0).then_some(max_open_files),
            },
            out,
            label,
            runtimes,
            require_check,
            global_templating,
            update,
            session,
            typecheck,
            selection,
            no_snippets,
            no_cache,
            watch,
        })
        .into(),
        Command::Report {
            documents,
            baseline,
            format,
            output,
            fail_on_regression,
            out,
            fail_on_failure,
        } => report(
            &sidebyside::report::ReportOptions {
                documents,
                baseline,
                format,
                output,
                fail_on_regression,
                out,
            },
            fail_on_failure,
        ),
    }
}

fn report(options: &sidebyside::report::ReportOptions, fail_on_failure: bool) -> ExitCode {
    match sidebyside::report::report(options) {
        Ok(rendered) => {
            if let Some(text) = rendered.text {
                print!("{text}");
            }
            for row in &rendered.regressions {
                eprintln!(
                    "sidebyside: regression: {} {} {} {}: {}",
                    row.machine,
                    row.scenario,
                    row.parameters,
                    row.runtime,
                    row.change.describe()
                );
            }
            if fail_on_failure && rendered.verify_passed.is_none() {
                return cli::usage(
                    "--fail-on-failure needs the documents of one verify run: one results \
                     document, or the shares of one `verify --partition` run",
                )
                .into();
            }
            let failed = fail_on_failure && rendered.verify_passed == Some(false);
            if failed {
                eprintln!("sidebyside: a block failed, timed out, erred or was interrupted");
            }
            if rendered.regressions.is_empty() && !failed {
                ExitStatus::Passed
            } else {
                ExitStatus::Failed
            }
            .into()
        }
        Err(error) => {
            eprintln!("sidebyside: {error}");
            if error.is_usage() {
                ExitStatus::Usage
            } else {
                ExitStatus::Failed
            }
            .into()
        }
    }
}

/// `SIDEBYSIDE_NO_CACHE=1` (any value but empty or `0`) is `--no-cache` for every verify.
fn no_cache_from_environment() -> bool {
    std::env::var_os("SIDEBYSIDE_NO_CACHE").is_some_and(|value| !value.is_empty() && value != "0")
}

/// `verify`'s arguments, parsed.
struct VerifyArguments {
    paths: Vec<PathBuf>,
    mock: Option<PathBuf>,
    isolation: IsolationChoice,
    timeout: f64,
    format: Format,
    jobs: Option<usize>,
    max_output: u64,
    keep_temp: bool,
    limits: Limits,
    out: Option<PathBuf>,
    label: Option<String>,
    runtimes: Vec<String>,
    require_check: bool,
    global_templating: bool,
    update: bool,
    session: bool,
    typecheck: bool,
    selection: cli::SelectionArguments,
    no_snippets: cli::NoSnippets,
    no_cache: bool,
    watch: bool,
}

/// `record --upstream URL --out DIR PAGE...`: the pages' blocks run once, each request they
/// make proxied to the (loopback) upstream and written as a mapping into DIR/mappings/.
fn record_pages(paths: Vec<PathBuf>, upstream: String, out: PathBuf) -> ExitStatus {
    let reporter = progress::for_stderr(true);
    let notes = reporter.clone();
    let recorder = match sidebyside::mock::Recorder::new(&out, move |line| {
        notes.event(sidebyside::events::Event::Note(line.trim()))
    }) {
        Ok(recorder) => std::sync::Arc::new(recorder),
        Err(error) => return cli::usage(&error.to_string()),
    };
    let options = VerifyOptions {
        paths: paths.clone(),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runtimes: vec![],
        require_check: false,
        update: false,
        sessions: false,
        // Every block runs: a cached verdict makes no request.
        cache: false,
        harness: HarnessOptions {
            global_templating: false,
            mock_dir: out.clone(),
            isolation: IsolationChoice::Auto,
            timeout: std::time::Duration::from_secs(30),
            output_cap_bytes: 8 << 20,
            keep_temp: false,
            outputs_dir: None,
            cache_dir: sidebyside::paths::cache_dir(),
            limits: Limits::standard(),
            typecheck: false,
            recording: Some(sidebyside::harness::Recording {
                upstream: upstream.clone(),
                out: out.clone(),
                recorder: recorder.clone(),
            }),
            syscall_filter: true,
        },
    };
    let runtime = match cli::async_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let outcome = runtime.block_on(async {
        let shutdown =
            Shutdown::listen(StopPolicy::AbortRuns, reporter.clone()).map_err(|error| {
                sidebyside::error::Error::Other(format!("cannot listen for Ctrl-C: {error}"))
            })?;
        sidebyside::verify::verify(&options, shutdown, reporter.clone()).await
    });
    reporter.finish();
    let results = match outcome {
        Ok(results) => results,
        Err(error) => {
            eprintln!("sidebyside: {error}");
            return if error.is_interrupted() {
                ExitStatus::Interrupted
            } else {
                ExitStatus::Usage
            };
        }
    };
    print!(
        "{}",
        sidebyside::report::render_for_stdout(Format::Table, &results, None, None)
    );
    let (written, failed) = recorder.counts();
    let pages: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    eprintln!(
        "sidebyside: recorded {written} mappings in {}{}; verify the pages against them: \
         sidebyside verify --mock {} {}",
        out.join("mappings").display(),
        if failed > 0 {
            format!(" ({failed} could not be written)")
        } else {
            String::new()
        },
        out.display(),
        pages.join(" ")
    );
    if failed > 0 {
        return ExitStatus::Failed;
    }
    cli::status_of_verify(&results)
}

fn verify(arguments: VerifyArguments) -> ExitStatus {
    let timeout = match cli::positive_seconds("--timeout", arguments.timeout) {
        Ok(timeout) => timeout,
        Err(status) => return status,
    };
    let runtimes = match cli::runtimes(&arguments.runtimes) {
        Ok(runtimes) => runtimes,
        Err(status) => return status,
    };
    // A path that does not exist is said once, here, before anything else; the others are
    // still verified, and the exit status is 2.
    let given = !arguments.paths.is_empty();
    let (paths, missing) = cli::missing_paths(arguments.paths);
    if given && paths.is_empty() {
        return ExitStatus::Usage;
    }
    let options = VerifyOptions {
        paths: if paths.is_empty() {
            vec![sidebyside::paths::default_snippets_dir()]
        } else {
            paths
        },
        jobs: arguments
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        runtimes,
        require_check: arguments.require_check,
        update: arguments.update,
        sessions: arguments.session,
        cache: !(arguments.no_cache || no_cache_from_environment()),
        harness: HarnessOptions {
            global_templating: arguments.global_templating,
            mock_dir: arguments
                .mock
                .unwrap_or_else(sidebyside::paths::default_mock_dir),
            isolation: arguments.isolation,
            timeout,
            output_cap_bytes: arguments.max_output,
            keep_temp: arguments.keep_temp,
            outputs_dir: arguments.out.as_ref().map(|out| out.join("output")),
            cache_dir: sidebyside::paths::cache_dir(),
            limits: arguments.limits,
            typecheck: arguments.typecheck,
            recording: None,
            syscall_filter: true,
        },
    };
    // --out is checked before anything runs.
    if let Err(status) = cli::check_out(arguments.out.as_deref()) {
        return status;
    }
    if arguments.watch
        && (arguments.selection.partition.is_some() || arguments.selection.changed_since.is_some())
    {
        return cli::usage(
            "--watch verifies the pages as they are saved; it takes no --partition or \
             --changed-since (leave them out, or verify without --watch)",
        );
    }
    if arguments.watch {
        if arguments.format != Format::Table {
            return cli::usage(
                "--watch redraws the table on the terminal after each change; it takes no \
                 --format (add --out DIR to also write every format after each round)",
            );
        }
        return cli::watch::watch(options, arguments.out);
    }
    let mut selection = match arguments.selection.resolve(&options.harness.mock_dir) {
        Ok(selection) => selection,
        Err(status) => return status,
    };
    selection.allow_empty = arguments.no_snippets == cli::NoSnippets::Pass;
    let runtime = match cli::async_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let reporter = progress::for_stderr(arguments.format != Format::Json);
    let outcome = runtime.block_on(async {
        let shutdown =
            Shutdown::listen(StopPolicy::AbortRuns, reporter.clone()).map_err(|error| {
                sidebyside::error::Error::Other(format!("cannot listen for Ctrl-C: {error}"))
            })?;
        sidebyside::verify::verify_selected(&options, &selection, shutdown, reporter.clone()).await
    });
    reporter.finish();
    let mut results = match outcome {
        Ok(results) => results,
        Err(error) => return cli::failed(&error),
    };
    results.environment.label = arguments.label;
    if let Some(share) = &results.partition {
        let partition = selection
            .partition
            .map(|p| p.to_string())
            .unwrap_or_default();
        eprintln!(
            "sidebyside: share {partition} (run {}): {} of the run's {} snippets",
            share.run,
            results.runs.len(),
            share.snippets.len()
        );
    }
    cli::advise_verify_limits(
        &mut results,
        &cli::VerifyLimits {
            timeout,
            max_output: arguments.max_output,
        },
    );
    // The table lists the problems found while verifying; the missing paths were said at the
    // start, so the documents (JSON, --out) list them but the table does not again.
    let table = arguments.format == Format::Table;
    let found = results.problems.len();
    if !table {
        results.problems.extend(missing.iter().cloned());
    }
    // The results reach stdout even when the files cannot be written. The table shows long
    // outputs in part and says where the whole is.
    let whole_output = match &arguments.out {
        Some(directory) => format!(
            "the whole is in {}",
            directory.join("results.json").display()
        ),
        None => "the whole is kept by --out DIR (in DIR/results.json) or --format json".to_string(),
    };
    print!(
        "{}",
        sidebyside::report::render_for_stdout(
            arguments.format,
            &results,
            Some(whole_output),
            arguments.out.as_deref()
        )
    );
    // Other formats leave standard output to the document: problems found while verifying are
    // said on stderr too (each once).
    if !table {
        for problem in &results.problems[..found] {
            eprintln!("sidebyside: {problem}");
        }
    } else {
        results.problems.extend(missing);
    }
    for block in &results.updated {
        eprintln!("sidebyside: updated {}: {}", block.source, block.what);
    }
    if let Some(directory) = &arguments.out {
        if let Err(status) = cli::write_out(directory, &results, &[]) {
            return status;
        }
    }
    cli::status_of_verify(&results)
}

fn bench(arguments: BenchArgs) -> ExitCode {
    let timeout = match arguments
        .timeout
        .map(|timeout| cli::positive_seconds("--timeout", timeout))
    {
        Some(Err(status)) => return status.into(),
        Some(Ok(timeout)) => Some(timeout),
        None => None,
    };
    let budget = arguments.budget.unwrap_or_else(|| {
        let seconds = match arguments.precision {
            Some(_) => sidebyside::bench::DEFAULT_PRECISION_BUDGET_S,
            None => sidebyside::bench::DEFAULT_BUDGET_S,
        };
        sidebyside::bench::precision::Budget::Time(std::time::Duration::from_secs_f64(seconds))
    });
    let options = sidebyside::bench::BenchOptions {
        manifest: arguments
            .manifest
            .unwrap_or_else(sidebyside::bench::default_manifest),
        scenarios: arguments.scenarios,
        runtimes: arguments.runtimes,
        runs: arguments.runs.map(|runs| runs as usize),
        warmup: arguments.warmup,
        parameters: arguments.parameters,
        full: arguments.full,
        commands: arguments.commands,
        out: arguments
            .out
            .unwrap_or_else(sidebyside::bench::default_out_dir),
        mock: arguments.mock,
        isolation: arguments.isolation,
        timeout,
        budget,
        precision: arguments.precision,
        pin: arguments.pin,
        syscall_filter: arguments.syscall_filter,
        instructions: matches!(arguments.metric, Some(BenchMetric::Instructions)),
        prepare: arguments.prepare,
        conclude: arguments.conclude,
        export_csv: arguments.export_csv,
        export_bmf: arguments.export_bmf,
        export_github_benchmark: arguments.export_github_benchmark,
        output_cap_bytes: arguments.max_output,
        keep_temp: arguments.keep_temp,
        cache_dir: sidebyside::paths::cache_dir(),
    };
    // --out is checked before anything runs.
    if let Err(status) = cli::check_out(Some(&options.out)) {
        return status.into();
    }
    let runtime = match cli::async_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status.into(),
    };
    // The bench shows its runs whatever the format: they are minutes of measuring.
    let reporter = progress::for_stderr(true);
    let outcome = runtime.block_on(async {
        let shutdown =
            Shutdown::listen(StopPolicy::FinishCurrentRun, reporter.clone()).map_err(|error| {
                sidebyside::error::Error::Other(format!("cannot listen for Ctrl-C: {error}"))
            })?;
        sidebyside::bench::bench(&options, shutdown, reporter.clone()).await
    });
    reporter.finish();
    match outcome {
        Ok(outcome) => {
            // The same renderer as `report results.json --format ...`.
            print!(
                "{}",
                sidebyside::report::render(arguments.format, &outcome.results)
            );
            // Every report format beside the results document, as every command's --out.
            if let Some(directory) = outcome.written.parent() {
                if let Err(status) = cli::write_out(directory, &outcome.results, &[]) {
                    return status.into();
                }
            }
            eprintln!(
                "sidebyside: results written to {}",
                outcome.written.display()
            );
            ExitCode::from(outcome.exit_code())
        }
        Err(error) => cli::failed(&error).into(),
    }
}

fn launch(arguments: &[std::ffi::OsString]) -> ExitCode {
    match arguments.first() {
        Some(argument) if argument == "--probe" => {
            match sidebyside::launcher::namespace::probe_in_this_process() {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    if !error.is_empty() {
                        eprintln!("{error}");
                    }
                    ExitCode::from(1)
                }
            }
        }
        Some(spec) => ExitCode::from(sidebyside::launcher::main(std::path::Path::new(spec)) as u8),
        None => {
            eprintln!("usage: sidebyside __launch SPEC.json (internal)");
            ExitCode::from(2)
        }
    }
}
