//! The harness must not distort what it measures. Compares, for a trivial program
//! (`/bin/true`):
//! - `bare`: a plain `std::process::Command` spawn and wait, what any timer would measure;
//! - `reported`: the wall time sidebyside's launcher reports for the same program (the window
//!   `bench` records: spawn to `wait4` inside the launcher), in each isolation mode;
//! - `whole run`: everything the harness does around one run (launcher start, control socket,
//!   mock, isolation, journal), which costs time but lies outside the measured window.
//!
//! `reported` close to `bare` shows the launcher adds nothing to the measurement itself.
//! Run with `cargo bench --bench harness`.

use criterion::{criterion_group, Criterion};
use sidebyside::harness::{Harness, HarnessOptions};
use sidebyside::isolation::IsolationChoice;
use sidebyside::runtime::PreparedCommand;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TRIVIAL: &str = "/bin/true";

fn harness(runtime: &tokio::runtime::Runtime, isolation: IsolationChoice) -> Option<Harness> {
    let options = HarnessOptions {
        global_templating: false,
        mock_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mock-server"),
        isolation,
        timeout: Duration::from_secs(30),
        output_cap_bytes: 1 << 20,
        keep_temp: false,
        outputs_dir: None,
        cache_dir: sidebyside::paths::cache_dir(),
        limits: sidebyside::launcher::Limits::default(),
        typecheck: false,
        recording: None,
        syscall_filter: true,
    };
    let shutdown = sidebyside::shutdown::Shutdown::new(sidebyside::events::StopPolicy::AbortRuns);
    let reporter = std::sync::Arc::new(sidebyside::events::Silent);
    match runtime.block_on(Harness::start(
        &options,
        &[],
        sidebyside::harness::Missing::Refuse,
        shutdown,
        reporter,
    )) {
        Ok(harness) => Some(harness),
        Err(error) => {
            eprintln!("skipping {isolation:?}: {error}");
            None
        }
    }
}

fn spawn_and_measure(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("spawn /bin/true");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("bare std::process::Command", |bencher| {
        bencher.iter(|| {
            std::process::Command::new(TRIVIAL)
                .status()
                .expect("run /bin/true")
        })
    });
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let command = PreparedCommand {
        program: PathBuf::from(TRIVIAL),
        args: vec![],
        env: vec![],
        line_map: None,
    };
    for (name, isolation) in [
        ("preload", IsolationChoice::Preload),
        ("namespace", IsolationChoice::Namespace),
    ] {
        let Some(harness) = harness(&runtime, isolation) else {
            continue;
        };
        group.bench_function(format!("reported by the launcher ({name})"), |bencher| {
            bencher.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        let outcome = runtime
                            .block_on(harness.run_command(&command))
                            .expect("harness run");
                        Duration::from_secs_f64(outcome.report.usage.wall_s)
                    })
                    .sum()
            })
        });
        group.bench_function(format!("whole harness run ({name})"), |bencher| {
            bencher.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    runtime
                        .block_on(harness.run_command(&command))
                        .expect("harness run");
                }
                started.elapsed()
            })
        });
        harness.finish();
    }
    group.finish();
}

criterion_group!(benches, spawn_and_measure);

fn main() {
    // The harness starts its launcher by re-executing the current binary as `__launch SPEC`;
    // in a bench the current binary is this one, so it must answer like `sidebyside` would.
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if arguments
        .get(1)
        .is_some_and(|argument| argument == "__launch")
    {
        let code = match arguments.get(2) {
            Some(argument) if argument == "--probe" => {
                match sidebyside::launcher::namespace::probe_in_this_process() {
                    Ok(()) => 0,
                    Err(error) => {
                        eprintln!("{error}");
                        1
                    }
                }
            }
            Some(spec) => sidebyside::launcher::main(Path::new(spec)),
            None => 2,
        };
        std::process::exit(code);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
