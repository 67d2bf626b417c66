//! From the command line to the plans of every point: which scenarios and runtimes, which
//! program each runtime runs with which command, and how many runs each point gets. Also the
//! `--command` mode, which measures arbitrary commands as the cases of one scenario.

use super::execute::{CasePlan, PointPlan, RunCounts};
use super::manifest::{Check, Manifest, Metric, Program, Scenario};
use super::plan;
use super::{BenchOptions, DEFAULT_WARMUP, MAXIMUM_RUNS, MINIMUM_RUNS};
use crate::error::{Error, Result};
use crate::harness::Harness;
use crate::observation::{Language, Source};
use crate::runtime::registry::locked_version;
use crate::runtime::{PreparedCommand, RuntimeId, Unavailable};
use crate::snippet::{Snippet, SnippetKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the bench will measure.
pub struct Selection<'a> {
    options: &'a BenchOptions,
    pub manifest: Option<Manifest>,
    pub scenarios: Vec<Scenario>,
    pub runtimes: Vec<RuntimeId>,
}

impl<'a> Selection<'a> {
    pub fn new(options: &'a BenchOptions) -> Result<Self> {
        if !options.commands.is_empty() {
            if !options.scenarios.is_empty()
                || !options.runtimes.is_empty()
                || !options.parameters.is_empty()
            {
                return Err(Error::Usage(
                    "--command measures the given commands alone: leave out --scenario, \
                     --runtime and --param"
                        .to_string(),
                ));
            }
            for (flag, hooks) in [
                ("--prepare", &options.prepare),
                ("--conclude", &options.conclude),
            ] {
                if hooks.len() > 1 && hooks.len() != options.commands.len() {
                    return Err(Error::Usage(format!(
                        "{flag} was given {} times for {} --command: give it once (for every \
                         command) or once per command, in the same order",
                        hooks.len(),
                        options.commands.len()
                    )));
                }
            }
            return Ok(Selection {
                options,
                manifest: None,
                scenarios: vec![command_scenario()],
                runtimes: vec![],
            });
        }
        if !options.prepare.is_empty() || !options.conclude.is_empty() {
            return Err(Error::Usage(
                "--prepare and --conclude go with --command: a scenario's programs set \
                 themselves up"
                    .to_string(),
            ));
        }
        let manifest = Manifest::load(&options.manifest)?;
        let scenarios = plan::select_scenarios(&manifest, &options.scenarios)?;
        if scenarios.is_empty() {
            return Err(Error::Usage(format!(
                "{} puts no scenario in the default suite: name one with --scenario",
                manifest.path.display()
            )));
        }
        plan::check_overrides(&scenarios, &options.parameters)?;
        Ok(Selection {
            options,
            manifest: Some(manifest),
            scenarios,
            runtimes: plan::select_runtimes(&options.runtimes)?,
        })
    }

    /// The selected runtimes that some selected scenario has a program for.
    pub fn runtimes_with_programs(&self) -> Vec<RuntimeId> {
        self.runtimes
            .iter()
            .copied()
            .filter(|runtime| {
                self.scenarios
                    .iter()
                    .any(|scenario| program_of(scenario, *runtime).is_some())
            })
            .collect()
    }

    /// Names of what is measured: runtime ids, or the commands.
    pub fn runtime_names(&self) -> Vec<String> {
        if self.options.commands.is_empty() {
            self.runtimes
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        } else {
            self.options.commands.clone()
        }
    }

    /// The tokio versions locked by the Rust programs measured.
    pub fn tokio_versions(&self) -> Vec<String> {
        let mut versions = Vec::new();
        for scenario in &self.scenarios {
            for runtime in [RuntimeId::TokioMultiThread, RuntimeId::TokioCurrentThread] {
                if !self.runtimes.contains(&runtime) {
                    continue;
                }
                if let Some(version) = program_of(scenario, runtime).and_then(tokio_version) {
                    if !versions.contains(&version) {
                        versions.push(version);
                    }
                }
            }
        }
        versions
    }

    /// Every point's plan, in order, with its run counts. Builds the Rust programs.
    pub fn plan(&self, harness: &Harness) -> Vec<(PointPlan, RunCounts)> {
        let mut plans = Vec::new();
        for scenario in &self.scenarios {
            let cases = if self.options.commands.is_empty() {
                self.scenario_cases(scenario, harness)
            } else {
                self.options
                    .commands
                    .iter()
                    .enumerate()
                    .map(|(index, text)| {
                        let mut case = command_case(text);
                        let pick = |hooks: &[String]| match hooks.len() {
                            0 => None,
                            1 => Some(hooks[0].clone()),
                            _ => hooks.get(index).cloned(),
                        };
                        case.hooks = super::execute::Hooks {
                            prepare: pick(&self.options.prepare),
                            conclude: pick(&self.options.conclude),
                        };
                        case
                    })
                    .collect()
            };
            let counts = RunCounts {
                // Under --precision the rounds stop by the rule; a scenario's own count gives way.
                runs: match self.options.precision {
                    Some(_) => None,
                    None => self.options.runs.or(scenario.runs),
                },
                warmup: self
                    .options
                    .warmup
                    .or(scenario.warmup)
                    .unwrap_or(DEFAULT_WARMUP),
                budget: self.options.budget,
                precision: self.options.precision,
                minimum: MINIMUM_RUNS,
                maximum: MAXIMUM_RUNS,
            };
            let mut scenario = scenario.clone();
            let mut cases = cases;
            if self.options.instructions {
                scenario.metric = Metric {
                    name: super::instructions::FIGURE.to_string(),
                    better: super::manifest::Better::Lower,
                };
                let valgrind = super::instructions::valgrind();
                for case in &mut cases {
                    let Ok(command) = &case.command else {
                        continue;
                    };
                    case.command =
                        match (&valgrind, super::instructions::unsupported(case.language)) {
                            (_, Some(reason)) => Err(Unavailable::Skipped(reason)),
                            (Err(missing), None) => Err(Unavailable::Skipped(missing.clone())),
                            (Ok(valgrind), None) => {
                                Ok(super::instructions::wrap(valgrind, command))
                            }
                        };
                }
            }
            for point in plan::points(&scenario, &self.options.parameters, self.options.full) {
                let environment = plan::environment(&point);
                let cases = cases
                    .iter()
                    .cloned()
                    .map(|mut case| {
                        if let Ok(command) = &mut case.command {
                            command.env.extend(environment.iter().cloned());
                        }
                        case
                    })
                    .collect();
                plans.push((
                    PointPlan {
                        label: plan::label(&scenario.name, &point),
                        scenario: scenario.clone(),
                        point,
                        cases,
                    },
                    counts,
                ));
            }
        }
        plans
    }

    fn scenario_cases(&self, scenario: &Scenario, harness: &Harness) -> Vec<CasePlan> {
        let mut cases = Vec::new();
        for &runtime in &self.runtimes {
            let Some(program) = program_of(scenario, runtime) else {
                continue;
            };
            let availability = harness.installed.availability(runtime, harness.mode);
            let mut version = availability.clone().unwrap_or_default();
            if runtime.language() == Language::Rust {
                if let Some(tokio) = tokio_version(program) {
                    version = format!("tokio {tokio}, {version}");
                }
            }
            let snippet = snippet_of(scenario, runtime, program);
            let command = match availability {
                Err(note) => Err(Unavailable::Skipped(note)),
                Ok(_) => harness.command(&snippet, runtime, scenario.check.verbatim()),
            };
            cases.push(CasePlan {
                runtime: runtime.as_str().to_string(),
                language: Some(runtime.language()),
                version,
                snippet,
                command,
                hooks: Default::default(),
            });
        }
        cases
    }
}

/// The program a runtime runs in a scenario: under the runtime's id, else its family's key.
pub fn program_of(scenario: &Scenario, runtime: RuntimeId) -> Option<&Program> {
    scenario
        .programs
        .get(runtime.as_str())
        .or_else(|| scenario.programs.get(runtime.family()))
}

fn tokio_version(program: &Program) -> Option<String> {
    match program {
        Program::CargoPackage(package) | Program::RustBinary { package, .. } => {
            locked_version(&package.join("Cargo.lock"), "tokio")
        }
        Program::File(_) => None,
    }
}

fn snippet_of(scenario: &Scenario, runtime: RuntimeId, program: &Program) -> Snippet {
    let (name, source, kind) = match program {
        Program::File(path) => (
            file_name(path),
            path.clone(),
            SnippetKind::File(path.clone()),
        ),
        Program::CargoPackage(package) => (
            file_name(package),
            package.join("src").join("main.rs"),
            SnippetKind::CargoPackage(package.clone()),
        ),
        Program::RustBinary { package, name } => {
            let source = package.join("src").join("bin").join(format!("{name}.rs"));
            (
                name.clone(),
                if source.is_file() {
                    source
                } else {
                    package.clone()
                },
                SnippetKind::CargoBinary {
                    package: package.clone(),
                    binary: name.clone(),
                },
            )
        }
    };
    Snippet {
        name,
        group: scenario.name.clone(),
        language: runtime.language(),
        source: Source {
            path: source,
            line: None,
        },
        kind,
        expect_failure: false,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn command_scenario() -> Scenario {
    Scenario {
        name: "command".to_string(),
        description: "commands given with --command, measured as they are".to_string(),
        claim: None,
        parameters: BTreeMap::new(),
        defaults: BTreeMap::new(),
        programs: BTreeMap::new(),
        rules: vec![],
        check: Check::ExitStatus,
        metric: Metric::default(),
        runs: None,
        warmup: None,
        timeout_s: None,
        in_default_suite: true,
    }
}

/// A case for `--command TEXT`: split like a shell would (no shell is started), the program
/// found on PATH.
fn command_case(text: &str) -> CasePlan {
    let command = shell_words::split(text)
        .map_err(|error| Unavailable::Failed(format!("cannot split `{text}`: {error}")))
        .and_then(|words| {
            let (program, args) = words
                .split_first()
                .ok_or_else(|| Unavailable::Failed("the command is empty".to_string()))?;
            let program = which::which(program).map_err(|_| {
                Unavailable::Failed(format!("`{program}` is not a program on PATH"))
            })?;
            Ok(PreparedCommand {
                program,
                args: args.to_vec(),
                env: vec![],
                line_map: None,
            })
        });
    let path: PathBuf = command
        .as_ref()
        .map(|command| command.program.clone())
        .unwrap_or_else(|_| PathBuf::from(text));
    CasePlan {
        runtime: text.to_string(),
        language: None,
        version: String::new(),
        // A command has no language; the snippet only names it for the run's observation,
        // which `--command` does not keep.
        snippet: Snippet {
            name: text.to_string(),
            group: "command".to_string(),
            language: Language::Rust,
            source: Source {
                path: path.clone(),
                line: None,
            },
            kind: SnippetKind::File(path),
            expect_failure: false,
        },
        command,
        hooks: Default::default(),
    }
}
