//! WireMock scenarios: mappings that answer only in some state of a named state machine
//! (`requiredScenarioState`) and move it to another (`newScenarioState`), so that a POST can
//! change what a later GET answers. Every scenario starts in `Started`. The states live in the
//! running mock, so each `verify` run and each `sidebyside mock` session starts afresh.

use super::reader::ObjectReader;
use super::MockError;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// WireMock's initial state of every scenario.
pub(super) const STARTED: &str = "Started";

/// A mapping's part in a scenario.
#[derive(Debug, Clone)]
pub(super) struct ScenarioStep {
    pub(super) name: String,
    /// The state the scenario must be in for the mapping to answer (any state when `None`).
    pub(super) required: Option<String>,
    /// The state the scenario moves to when the mapping answers.
    pub(super) next: Option<String>,
}

impl ScenarioStep {
    /// Reads `scenarioName`, `requiredScenarioState` and `newScenarioState` of a mapping.
    pub(super) fn parse(reader: &ObjectReader) -> Result<Option<Self>, MockError> {
        let name = reader.string("scenarioName")?;
        let required = reader.string("requiredScenarioState")?;
        let next = reader.string("newScenarioState")?;
        let Some(name) = name else {
            for (field, given) in [
                ("requiredScenarioState", required),
                ("newScenarioState", next),
            ] {
                if given.is_some() {
                    return Err(reader.context.invalid(
                        &reader.path().key(field),
                        "needs the scenarioName of the scenario it belongs to",
                    ));
                }
            }
            return Ok(None);
        };
        Ok(Some(ScenarioStep {
            name: name.to_string(),
            required: required.map(str::to_string),
            next: next.map(str::to_string),
        }))
    }

    /// Whether the scenario is in the state this step requires.
    pub(super) fn holds(&self, states: &HashMap<String, String>) -> bool {
        match &self.required {
            None => true,
            Some(required) => current(states, &self.name) == required,
        }
    }
}

/// The state of a scenario, `Started` until a mapping moved it.
pub(super) fn current<'a>(states: &'a HashMap<String, String>, name: &str) -> &'a str {
    states.get(name).map_or(STARTED, String::as_str)
}

/// The states of a running mock's scenarios.
#[derive(Debug, Default)]
pub(super) struct ScenarioStates(Mutex<HashMap<String, String>>);

impl ScenarioStates {
    /// Held while a request is matched and its step taken, so that concurrent requests see the
    /// scenario move one step at a time.
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
